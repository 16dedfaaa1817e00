// Go net/http: follows HTTPS_PROXY, trusts SSL_CERT_FILE.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		if i := strings.IndexByte(kv, '='); i > 0 {
			env[kv[:i]] = kv[i+1:]
		}
	}
	dump, _ := json.Marshal(env)
	if err := os.WriteFile(filepath.Join(os.Getenv("AGENT_OUT"), "env-go.json"), dump, 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	req, _ := http.NewRequest("GET", os.Args[1], nil)
	req.Header.Set("X-Api-Key", os.Getenv("DEMO_KEY"))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintln(os.Stderr, "request failed:", err)
		os.Exit(1)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	fmt.Println(res.StatusCode)
}
