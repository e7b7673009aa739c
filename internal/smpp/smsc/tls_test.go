package smsc_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/ibiki/ibiki/internal/smpp/pdu"
	"github.com/ibiki/ibiki/internal/smpp/session"
	"github.com/ibiki/ibiki/internal/smpp/smsc"
)

// selfSigned is a certificate for 127.0.0.1, and a pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ibiki test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, pool
}

// Over TLS a client binds and submits; a connection that never speaks (no TLS handshake, no
// bind) is closed after BindWithin, and does not hold the server's shutdown.
func TestTLSAndSilentConnections(t *testing.T) {
	cert, pool := selfSigned(t)
	ib := start(t, "", nil, func(s *smsc.Server) {
		s.Config.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		// Long enough for a TLS handshake and a bind on a loaded machine (-race).
		s.Config.BindWithin = 1500 * time.Millisecond
	})
	silent, err := net.Dial("tcp", ib.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()

	conn, err := tls.Dial("tcp", ib.addr, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	s := session.New(conn, session.Options{Timeout: 5 * time.Second})
	defer s.Close()
	if _, err := s.Bind(t.Context(), &pdu.Bind{ID: pdu.BindTransmitter, SystemID: "acme", Password: ib.password, InterfaceVersion: 0x34}); err != nil {
		t.Fatalf("bind over TLS: %v", err)
	}
	p, err := s.Request(t.Context(), &pdu.SM{ID: pdu.SubmitSM, Source: shortCode, Dest: handset, ShortMessage: gsm("over TLS")})
	if r, _ := p.Body.(*pdu.SMResp); err != nil || p.Status != pdu.StatusOK || r == nil || ib.message(t, r.MessageID).Body != "over TLS" {
		t.Fatalf("submit over TLS: %+v %v", p, err)
	}
	time.Sleep(1700 * time.Millisecond) // past BindWithin: the bound session stays
	if p, err := s.Request(t.Context(), &pdu.Empty{ID: pdu.EnquireLink}); err != nil || p.ID != pdu.EnquireLinkResp {
		t.Fatalf("the bound TLS session after BindWithin: %+v %v", p.Header, err)
	}

	_ = silent.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadAll(silent); err != nil {
		t.Fatalf("the silent connection was not closed: %v", err)
	}
	// A plain connection that opened but never bound is closed too.
	plain, err := net.Dial("tcp", ib.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	done := make(chan struct{})
	go func() { ib.App.SMPP.Close(context.Background()); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("Close hung")
	}
}

// One address holds at most 64 connections (bound or not): the next is closed at once, and a
// place freed is taken again.
func TestConnectionsFromOneAddressAreCapped(t *testing.T) {
	ib := start(t, "", nil)
	var open []*esme
	for range 64 {
		e := dial(t, ib.addr)
		// Answered: the server counts this connection.
		if p, err := e.Request(t.Context(), &pdu.Empty{ID: pdu.EnquireLink}); err != nil || p.ID != pdu.EnquireLinkResp {
			t.Fatalf("connection %d: %+v %v", len(open)+1, p.Header, err)
		}
		open = append(open, e)
	}
	over, err := net.Dial("tcp", ib.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer over.Close()
	_ = over.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadAll(over); err != nil {
		t.Fatalf("the 65th connection was not closed: %v", err)
	}
	open[0].Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		e := dial(t, ib.addr)
		p, err := e.Request(t.Context(), &pdu.Bind{ID: pdu.BindTransceiver, SystemID: "acme", Password: ib.password, InterfaceVersion: 0x34})
		if err == nil && p.Status == pdu.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the freed place was not given again")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Over TLS the place is taken at the accept, before the handshake: 64 connections that never
// start one fill the address's places, and the next is closed at once.
func TestTLSConnectionsAreCountedBeforeTheHandshake(t *testing.T) {
	cert, _ := selfSigned(t)
	ib := start(t, "", nil, func(s *smsc.Server) {
		s.Config.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	})
	for i := range 64 {
		c, err := net.Dial("tcp", ib.addr)
		if err != nil {
			t.Fatalf("connection %d: %v", i+1, err)
		}
		defer c.Close()
	}
	// The accepts run concurrently with the dials: the 65th may be accepted before the last of
	// the 64 are counted, so look until one is refused (each silent one stays BindWithin, 10 s).
	for deadline := time.Now().Add(5 * time.Second); ; {
		over, err := net.Dial("tcp", ib.addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = over.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		_, err = over.Read(make([]byte, 1))
		over.Close()
		if errors.Is(err, io.EOF) {
			return // closed at once: refused
		}
		if time.Now().After(deadline) {
			t.Fatalf("a connection over 64 was not refused: %v", err)
		}
	}
}
