// Package metrics declares Ibiki's Prometheus metrics in one place, so their names and labels
// stay consistent, and collects the queue's depth and age from the store at scrape time.
package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/ibiki/ibiki/internal/model"
	"github.com/ibiki/ibiki/internal/queue"
	"github.com/ibiki/ibiki/internal/store"
)

var (
	// InboundAccepted counts provider webhooks accepted, by provider and whether it was a
	// retry of one already stored.
	InboundAccepted = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ibiki_inbound_accepted_total",
		Help: "Inbound provider messages accepted, by provider and duplicate (a retried webhook).",
	}, []string{"provider", "duplicate"})
	// InboundRejected counts provider webhooks refused, by provider and reason.
	InboundRejected = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ibiki_inbound_rejected_total",
		Help: "Inbound provider webhooks refused, by provider and reason.",
	}, []string{"provider", "reason"})
	// Routed counts inbound messages by the routing rule that matched.
	Routed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ibiki_inbound_routed_total",
		Help: "Inbound messages routed, by provider and the rule that matched (unrouted included).",
	}, []string{"provider", "rule"})
	// WebhookAttempts counts client webhook attempts by outcome.
	WebhookAttempts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ibiki_webhook_attempts_total",
		Help: "Client webhook attempts, by outcome (succeeded, retry, fail: not retried, gone: 410).",
	}, []string{"outcome"})
	// WebhookDeliveries counts deliveries that reached a final state.
	WebhookDeliveries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ibiki_webhook_deliveries_total",
		Help: "Client webhook deliveries finished, by outcome (succeeded, failed).",
	}, []string{"outcome"})
	// WebhookLatency is the time from an event's creation to its successful delivery.
	WebhookLatency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "ibiki_webhook_delivery_latency_seconds",
		Help:    "Time from an event's creation to its successful delivery to the client webhook.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 7200, 86400},
	})
	// WebhookAttemptDuration is how long client endpoints take to answer.
	WebhookAttemptDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "ibiki_webhook_attempt_duration_seconds",
		Help:    "Duration of one client webhook HTTP attempt.",
		Buckets: prometheus.DefBuckets,
	})
	// SMPPBinds is how many binds each SMPP provider has up.
	SMPPBinds = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "ibiki_smpp_binds",
		Help: "SMPP binds up, by provider.",
	}, []string{"provider"})
	// SMPPSubmits counts submit_sm answered, by provider and command_status.
	SMPPSubmits = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ibiki_smpp_submits_total",
		Help: "submit_sm PDUs answered by SMSCs, by provider and status (ESME_ROK, ESME_RTHROTTLED...), and those unanswered (timeout, closed).",
	}, []string{"provider", "status"})
	// SMPPReceipts counts the delivery receipts SMSCs sent, by provider and stat.
	SMPPReceipts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ibiki_smpp_receipts_total",
		Help: "Delivery receipts from SMSCs, by provider and stat (DELIVRD, UNDELIV...).",
	}, []string{"provider", "stat"})
	// SMPPServerBinds is how many binds each client holds on Ibiki's SMPP server, by kind.
	SMPPServerBinds = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "ibiki_smpp_server_binds",
		Help: "Binds clients hold on Ibiki's SMPP server, by client and kind (transmitter, receiver, transceiver).",
	}, []string{"client", "kind"})
	// SMPPServerPDUs counts the server's submit_sm answered and deliver_sm sent, by outcome.
	SMPPServerPDUs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ibiki_smpp_server_pdus_total",
		Help: "PDUs of Ibiki's SMPP server: submit_sm and submit_multi answered (by command_status), deliver_sm sent to clients (mo or receipt, by the client's command_status or unanswered).",
	}, []string{"command", "status"})
	// ServiceMessages counts the messages services took, by whether they were handled and why.
	ServiceMessages = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ibiki_service_messages_total",
		Help: "Inbound messages taken by services, by handled (true, false) and reason (command, flow_step, invalid, rate_limited...).",
	}, []string{"handled", "reason"})
	// ServiceCallouts is how long services' callouts to clients' endpoints take, by outcome.
	ServiceCallouts = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "ibiki_service_callout_seconds",
		Help:    "Duration of services' callouts to clients' endpoints, by outcome (ok, failed: the fallback was sent).",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"outcome"})
	// OutboundAccepted counts messages clients sent that were queued.
	OutboundAccepted = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ibiki_outbound_accepted_total",
		Help: "Outbound messages accepted and queued, by provider.",
	}, []string{"provider"})
	// OutboundSends counts provider calls by outcome.
	OutboundSends = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ibiki_outbound_sends_total",
		Help: "Provider send calls, by provider and outcome (sent, retry, failed, in_doubt, reconciled).",
	}, []string{"provider", "outcome"})
	// OutboundStatus counts outbound status changes, by provider and new status ("unknown" is a
	// message that got no final status in time).
	OutboundStatus = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ibiki_outbound_status_total",
		Help: "Outbound message status changes, by provider and status.",
	}, []string{"provider", "status"})
)

// Registry returns a registry with Ibiki's metrics, the Go and process collectors, and the
// queue collector over s.
func Registry(s *store.Store, extra ...prometheus.Collector) *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(InboundAccepted, InboundRejected, Routed, WebhookAttempts, WebhookDeliveries,
		WebhookLatency, WebhookAttemptDuration, OutboundAccepted, OutboundSends, OutboundStatus,
		ServiceMessages, ServiceCallouts, SMPPBinds, SMPPSubmits, SMPPReceipts, SMPPServerBinds, SMPPServerPDUs,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		queueCollector{s})
	r.MustRegister(extra...)
	return r
}

var (
	queueDepth = prometheus.NewDesc("ibiki_queue_jobs", "Jobs in the queue, by kind and state.",
		[]string{"kind", "state"}, nil)
	queueAge = prometheus.NewDesc("ibiki_queue_oldest_job_age_seconds", "Age of the oldest job, by kind and state.",
		[]string{"kind", "state"}, nil)
)

var (
	storeCommits = prometheus.NewDesc("ibiki_store_commits_total", "Database write commits (group commits carry several transactions).", nil, nil)
	storeTx      = prometheus.NewDesc("ibiki_store_transactions_total", "Write transactions, carried by the commits.", nil, nil)
	storeBusy    = prometheus.NewDesc("ibiki_store_writer_busy_seconds_total", "Time the database writers spent running and committing.", nil, nil)
)

// queueCollector reads the queue (both its tables, through queue.Stats) and the store's counters
// when Prometheus scrapes.
type queueCollector struct{ s *store.Store }

func (c queueCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{queueDepth, queueAge, storeCommits, storeTx, storeBusy} {
		ch <- d
	}
}

func (c queueCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.Stats()
	ch <- prometheus.MustNewConstMetric(storeCommits, prometheus.CounterValue, float64(st.Commits))
	ch <- prometheus.MustNewConstMetric(storeTx, prometheus.CounterValue, float64(st.Transactions))
	ch <- prometheus.MustNewConstMetric(storeBusy, prometheus.CounterValue, st.Busy.Seconds())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	qs, err := queue.Stats(ctx, c.s)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(queueDepth, err)
		return
	}
	// Every kind and state has a series, zero when empty, so that alerts on them have data.
	seen := map[[2]string]bool{}
	now := time.Now()
	for _, st := range qs {
		seen[[2]string{string(st.Kind), string(st.State)}] = true
		ch <- prometheus.MustNewConstMetric(queueDepth, prometheus.GaugeValue, float64(st.Count), string(st.Kind), string(st.State))
		ch <- prometheus.MustNewConstMetric(queueAge, prometheus.GaugeValue, now.Sub(st.OldestAt).Seconds(), string(st.Kind), string(st.State))
	}
	for _, k := range []model.JobKind{model.JobWebhook, model.JobSend} {
		for _, s := range []model.JobState{model.JobQueued, model.JobWaiting, model.JobRunning, model.JobDead} {
			if !seen[[2]string{string(k), string(s)}] {
				ch <- prometheus.MustNewConstMetric(queueDepth, prometheus.GaugeValue, 0, string(k), string(s))
				ch <- prometheus.MustNewConstMetric(queueAge, prometheus.GaugeValue, 0, string(k), string(s))
			}
		}
	}
}
