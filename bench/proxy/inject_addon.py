"""mitmproxy addon for bench/proxy: what a user would write to inject a credential with mitmproxy.

Options (set with --set on the mitmdump command line):
  bench_host   host whose requests get the header (default api.bench.test)
  bench_auth   the Authorization header value to set (e.g. "Bearer ...")
  bench_target ADDR:PORT that connections for bench_host:443 really go to, like curl --resolve
               (the load generator asks the proxy for the real host name; the name does not resolve, so this
               addon rewrites the server address in the server_connect hook — SNI and the certificate check
               keep using the host name)
"""
from mitmproxy import ctx, http
from mitmproxy.proxy import server_hooks


class Inject:
    def load(self, loader):
        loader.add_option("bench_host", str, "api.bench.test", "host to inject for")
        loader.add_option("bench_auth", str, "", "Authorization header value")
        loader.add_option("bench_target", str, "", "ADDR:PORT to connect to for bench_host:443")

    def server_connect(self, data: server_hooks.ServerConnectionHookData) -> None:
        target = ctx.options.bench_target
        if target and data.server.address and data.server.address[0] == ctx.options.bench_host:
            addr, port = target.rsplit(":", 1)
            data.server.address = (addr, int(port))

    # requestheaders, not request: with stream_large_bodies a streamed upload's headers are already sent by the
    # time the request hook would run.
    def requestheaders(self, flow: http.HTTPFlow) -> None:
        if flow.request.pretty_host == ctx.options.bench_host and ctx.options.bench_auth:
            flow.request.headers["Authorization"] = ctx.options.bench_auth


addons = [Inject()]
