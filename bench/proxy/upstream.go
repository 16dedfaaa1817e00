// upstream.go — the local HTTPS API every figure is measured against (standard library only).
//
// It makes a throwaway test CA and a certificate for api.bench.test, writes the CA (PEM) to -ca-out, listens on
// 127.0.0.1:<random> (HTTP/1.1 with keep-alive; HTTP/2 is switched off so every path compares the same protocol),
// and prints one JSON line {"port":N,"control":M} on stdout. Every endpoint wants `Authorization: Bearer <-token>`;
// without it the answer is 401 and the rejection is counted, so a run whose credential was not injected is visible.
//
//	GET  /small                 200 "ok\n"
//	GET  /download?bytes=N      200, N bytes streamed
//	POST /upload                200, the number of body bytes received
//
// A plain-HTTP control listener on 127.0.0.1 (never proxied) answers GET /stats with the counters as JSON.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

var (
	okCount       atomic.Int64
	rejected      atomic.Int64
	uploadBytes   atomic.Int64
	downloadBytes atomic.Int64
	tlsHandshakes atomic.Int64
)

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

func makeCerts(host, caOut string) tls.Certificate {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(now.UnixNano()),
		Subject:               pkix.Name{CommonName: "onecli bench test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	must(err)
	caCert, err := x509.ParseCertificate(caDER)
	must(err)
	must(os.WriteFile(caOut, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600))

	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano() + 1),
		Subject:      pkix.Name{CommonName: host},
		DNSNames:     []string{host},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &leafKey.PublicKey, caKey)
	must(err)
	return tls.Certificate{Certificate: [][]byte{leafDER, caDER}, PrivateKey: leafKey}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { return len(p), nil }

func main() {
	host := flag.String("host", "api.bench.test", "name on the certificate")
	caOut := flag.String("ca-out", "", "write the test CA certificate (PEM) here")
	token := flag.String("token", "", "the expected Bearer value")
	flag.Parse()
	if *caOut == "" || *token == "" {
		log.Fatal("need -ca-out and -token")
	}
	want := []byte("Bearer " + *token)
	cert := makeCerts(*host, *caOut)

	authorized := func(w http.ResponseWriter, r *http.Request) bool {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) == 1 {
			return true
		}
		rejected.Add(1)
		io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
		http.Error(w, "missing or wrong credential", http.StatusUnauthorized)
		return false
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/small", func(w http.ResponseWriter, r *http.Request) {
		if !authorized(w, r) {
			return
		}
		okCount.Add(1)
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", "3")
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/download", func(w http.ResponseWriter, r *http.Request) {
		if !authorized(w, r) {
			return
		}
		n, err := strconv.ParseInt(r.URL.Query().Get("bytes"), 10, 64)
		if err != nil || n < 0 || n > 8<<30 {
			http.Error(w, "bytes=N (0..8 GiB)", http.StatusBadRequest)
			return
		}
		okCount.Add(1)
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		sent, _ := io.CopyBuffer(w, io.LimitReader(zeroReader{}, n), make([]byte, 64<<10))
		downloadBytes.Add(sent)
	})
	mux.HandleFunc("/upload", func(w http.ResponseWriter, r *http.Request) {
		if !authorized(w, r) {
			return
		}
		n, err := io.CopyBuffer(io.Discard, r.Body, make([]byte, 64<<10))
		uploadBytes.Add(n)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		okCount.Add(1)
		fmt.Fprintf(w, "%d\n", n)
	})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	srv := &http.Server{
		Handler:      mux,
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){}, // HTTP/1.1 only
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{cert},
			NextProtos:   []string{"http/1.1"},
			MinVersion:   tls.VersionTLS12,
			VerifyConnection: func(tls.ConnectionState) error {
				tlsHandshakes.Add(1)
				return nil
			},
		},
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}

	ctl, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	ctlMux := http.NewServeMux()
	ctlMux.HandleFunc("/stats", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]int64{
			"ok": okCount.Load(), "rejected": rejected.Load(), "upload_bytes": uploadBytes.Load(),
			"download_bytes": downloadBytes.Load(), "tls_handshakes": tlsHandshakes.Load(),
		})
	})
	go http.Serve(ctl, ctlMux)

	fmt.Printf("{\"port\":%d,\"control\":%d}\n", ln.Addr().(*net.TCPAddr).Port, ctl.Addr().(*net.TCPAddr).Port)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sig
		fmt.Fprintf(os.Stderr, "upstream: ok=%d rejected=%d\n", okCount.Load(), rejected.Load())
		os.Exit(0)
	}()
	log.Fatal(srv.ServeTLS(ln, "", ""))
}
