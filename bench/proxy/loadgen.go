// loadgen.go — the load generator for bench/proxy (standard library only).
//
// It goes through HTTPS_PROXY when the environment names one (net/http's ProxyFromEnvironment, which skips loopback
// targets: that is why the target is https://api.bench.test and the proxy resolves it) and trusts exactly the
// certificates in SSL_CERT_FILE. -resolve HOST:PORT:ADDR:PORT2 dials ADDR:PORT2 itself (the direct baseline).
// HTTP/1.1 only, like the upstream. One JSON line on stdout; "loadgen: begin"/"loadgen: end" on stderr mark the
// measured window (after the warm-up) so the bench can sample the proxy's memory during it.
//
//	-mode=rps      -c N -d D   keep-alive GETs of /small from N clients: req/s, p50, p99, errors
//	-mode=newconn  -c N -d D   a new connection (TCP + CONNECT + TLS handshake) per request: connections/s
//	-mode=download -bytes N    one GET /download?bytes=N: MB/s
//	-mode=upload   -bytes N    one POST /upload of N bytes: MB/s
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

type result struct {
	Mode      string         `json:"mode"`
	Clients   int            `json:"clients"`
	Seconds   float64        `json:"seconds"`
	Requests  int            `json:"requests"`
	OK        int            `json:"ok"`
	Errors    int            `json:"errors"`
	Statuses  map[string]int `json:"statuses"`
	FirstErr  string         `json:"first_error,omitempty"`
	RPS       float64        `json:"rps"`
	P50ms     float64        `json:"p50_ms"`
	P99ms     float64        `json:"p99_ms"`
	Bytes     int64          `json:"bytes,omitempty"`
	MBps      float64        `json:"mb_per_s,omitempty"`
	ViaProxy  bool           `json:"via_proxy"`
	ProxyHost string         `json:"proxy,omitempty"`
}

type withAuth struct {
	next  http.RoundTripper
	value string
}

func (a withAuth) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", a.value)
	return a.next.RoundTrip(r)
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { return len(p), nil }

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "loadgen: "+format+"\n", a...)
	os.Exit(2)
}

func main() {
	mode := flag.String("mode", "rps", "rps | newconn | download | upload")
	clients := flag.Int("c", 50, "concurrent clients")
	dur := flag.Duration("d", 5*time.Second, "measured duration (rps, newconn)")
	warm := flag.Duration("warmup", time.Second, "unmeasured warm-up before it (rps, newconn)")
	maxReq := flag.Int("n", 5_000_000, "stop after this many measured requests at most")
	size := flag.Int64("bytes", 256<<20, "bytes to move (download, upload)")
	resolve := flag.String("resolve", "", "HOST:PORT:ADDR:PORT2 — dial ADDR:PORT2 for HOST:PORT (direct mode)")
	base := flag.String("url", "https://api.bench.test", "base URL")
	authHeader := flag.String("authorization", "", "send this Authorization header itself (direct mode: nobody injects it)")
	flag.Parse()
	if *clients < 1 || *clients > 1000 {
		fail("-c must be 1..1000")
	}

	caFile := os.Getenv("SSL_CERT_FILE")
	if caFile == "" {
		fail("SSL_CERT_FILE is not set: it must name the certificates to trust")
	}
	pemBytes, err := os.ReadFile(caFile)
	if err != nil {
		fail("reading SSL_CERT_FILE: %v", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pemBytes) {
		fail("no certificate in %s", caFile)
	}

	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	dial := dialer.DialContext
	if *resolve != "" {
		p := strings.Split(*resolve, ":")
		if len(p) != 4 {
			fail("-resolve HOST:PORT:ADDR:PORT2")
		}
		from, to := net.JoinHostPort(p[0], p[1]), net.JoinHostPort(p[2], p[3])
		dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			if addr == from {
				addr = to
			}
			return dialer.DialContext(ctx, network, addr)
		}
	}
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         dial,
		TLSClientConfig:     &tls.Config{RootCAs: roots, NextProtos: []string{"http/1.1"}},
		ForceAttemptHTTP2:   false,
		MaxIdleConns:        *clients * 2,
		MaxIdleConnsPerHost: *clients * 2,
		DisableKeepAlives:   *mode == "newconn",
		DisableCompression:  true,
		TLSHandshakeTimeout: 10 * time.Second,
	}
	var rt http.RoundTripper = tr
	if *authHeader != "" {
		rt = withAuth{tr, *authHeader}
	}
	res := result{Mode: *mode, Clients: *clients, Statuses: map[string]int{}}
	probe, _ := http.NewRequest("GET", *base+"/small", nil)
	if u, _ := tr.Proxy(probe); u != nil {
		res.ViaProxy, res.ProxyHost = true, u.Host // the host only: the URL may carry a token
	}

	switch *mode {
	case "rps", "newconn":
		loop(rt, *base+"/small", *clients, *warm, *dur, *maxReq, &res)
	case "download", "upload":
		transfer(rt, *base, *mode, *size, &res)
	default:
		fail("unknown -mode %q", *mode)
	}
	out, _ := json.Marshal(res)
	fmt.Println(string(out))
}

// loop runs `clients` workers doing GET url back to back: first for `warm` (not counted), then for `dur`.
func loop(tr http.RoundTripper, url string, clients int, warm, dur time.Duration, maxReq int, res *result) {
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	type tally struct {
		lat      []time.Duration
		ok, errs int
		statuses map[int]int
		firstErr string
	}
	tallies := make([]tally, clients)
	var (
		wg       sync.WaitGroup
		measured sync.WaitGroup
	)
	start := time.Now()
	begin := start.Add(warm)
	end := begin.Add(dur)
	perWorkerCap := maxReq/clients + 1
	measured.Add(1)
	go func() { time.Sleep(time.Until(begin)); fmt.Fprintln(os.Stderr, "loadgen: begin"); measured.Done() }()
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func(t *tally) {
			defer wg.Done()
			t.statuses = map[int]int{}
			t.lat = make([]time.Duration, 0, 4096)
			for n := 0; n < perWorkerCap+1_000_000; n++ { // bounded; the deadline ends it first
				t0 := time.Now()
				if t0.After(end) {
					return
				}
				counted := t0.After(begin)
				if counted && len(t.lat) >= perWorkerCap {
					return
				}
				resp, err := client.Get(url)
				var status int
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					status = resp.StatusCode
				}
				el := time.Since(t0)
				if !counted {
					continue
				}
				t.lat = append(t.lat, el)
				if err != nil {
					t.errs++
					if t.firstErr == "" {
						t.firstErr = err.Error()
					}
					time.Sleep(time.Millisecond) // no hot spin on a refused connection
					continue
				}
				t.statuses[status]++
				if status == 200 {
					t.ok++
				}
			}
		}(&tallies[w])
	}
	wg.Wait()
	measured.Wait()
	fmt.Fprintln(os.Stderr, "loadgen: end")
	elapsed := time.Since(begin)
	if elapsed > dur {
		elapsed = dur // workers stop at `end`; the tail is the last request finishing
	}
	var all []time.Duration
	for i := range tallies {
		t := &tallies[i]
		all = append(all, t.lat...)
		res.OK += t.ok
		res.Errors += t.errs
		for s, n := range t.statuses {
			res.Statuses[strconv.Itoa(s)] += n
		}
		if res.FirstErr == "" {
			res.FirstErr = t.firstErr
		}
	}
	res.Requests = len(all)
	res.Seconds = elapsed.Seconds()
	res.RPS = float64(res.OK) / elapsed.Seconds()
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	pct := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		i := int(p * float64(len(all)-1))
		return float64(all[i].Microseconds()) / 1000
	}
	res.P50ms, res.P99ms = pct(0.50), pct(0.99)
}

func transfer(tr http.RoundTripper, base, mode string, size int64, res *result) {
	client := &http.Client{Transport: tr, Timeout: 10 * time.Minute}
	// one small request first so that connection setup (and a proxy's first leaf certificate) is not timed
	if resp, err := client.Get(base + "/small"); err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	fmt.Fprintln(os.Stderr, "loadgen: begin")
	t0 := time.Now()
	var moved int64
	var status int
	var err error
	if mode == "download" {
		var resp *http.Response
		resp, err = client.Get(fmt.Sprintf("%s/download?bytes=%d", base, size))
		if err == nil {
			status = resp.StatusCode
			moved, err = io.CopyBuffer(io.Discard, resp.Body, make([]byte, 64<<10))
			resp.Body.Close()
		}
	} else {
		var req *http.Request
		req, err = http.NewRequest("POST", base+"/upload", io.LimitReader(zeroReader{}, size))
		if err == nil {
			req.ContentLength = size
			req.Header.Set("Content-Type", "application/octet-stream")
			var resp *http.Response
			resp, err = client.Do(req)
			if err == nil {
				status = resp.StatusCode
				body, _ := io.ReadAll(io.LimitReader(resp.Body, 100))
				resp.Body.Close()
				moved, _ = strconv.ParseInt(strings.TrimSpace(string(body)), 10, 64)
			}
		}
	}
	el := time.Since(t0)
	fmt.Fprintln(os.Stderr, "loadgen: end")
	res.Requests, res.Seconds, res.Bytes = 1, el.Seconds(), moved
	if err == nil && status == 200 && moved != size {
		err = errors.New(fmt.Sprintf("moved %d bytes of %d", moved, size))
	}
	if status != 0 {
		res.Statuses[strconv.Itoa(status)]++
	}
	if err != nil || status != 200 {
		res.Errors = 1
		if err != nil {
			res.FirstErr = err.Error()
		}
		return
	}
	res.OK = 1
	res.MBps = float64(moved) / 1e6 / el.Seconds()
}
