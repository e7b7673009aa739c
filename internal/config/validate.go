package config

import (
	"errors"
	"fmt"
)

// Validate checks the rules that tie settings together, which no single setting can check
// alone. Load applies it, so a server never starts on a configuration that breaks one.
func (c Config) Validate() error {
	var errs []error
	if c.JobLease <= 2*c.WebhookTimeout {
		// A client webhook attempt runs under its job's lease: a lease that can end while the
		// attempt still runs lets another worker start the same delivery.
		errs = append(errs, fmt.Errorf("IBIKI_JOB_LEASE (%s) must be more than twice IBIKI_WEBHOOK_TIMEOUT (%s): a delivery still running when its lease ends would be sent twice",
			c.JobLease, c.WebhookTimeout))
	}
	if (c.AdminEmail == "") != (c.AdminPassword == "") {
		errs = append(errs, errors.New("IBIKI_ADMIN_EMAIL and IBIKI_ADMIN_PASSWORD go together: set both to create the first operator"))
	}
	if (c.SMPPTLSCert == "") != (c.SMPPTLSKey == "") {
		errs = append(errs, errors.New("IBIKI_SMPP_TLS_CERT and IBIKI_SMPP_TLS_KEY go together: set both for TLS on the SMPP server"))
	}
	return errors.Join(errs...)
}
