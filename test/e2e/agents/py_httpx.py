# Python httpx: follows HTTPS_PROXY, trusts SSL_CERT_FILE.
import json, os, sys
import httpx
with open(os.path.join(os.environ['AGENT_OUT'], 'env-py-httpx.json'), 'w') as f:
    json.dump(dict(os.environ), f)
res = httpx.get(sys.argv[1], headers={'x-api-key': os.environ.get('DEMO_KEY', '')}, timeout=30)
print(res.status_code)
