# Python requests: follows HTTPS_PROXY, trusts REQUESTS_CA_BUNDLE.
import json, os, sys
import requests
with open(os.path.join(os.environ['AGENT_OUT'], 'env-py-requests.json'), 'w') as f:
    json.dump(dict(os.environ), f)
res = requests.get(sys.argv[1], headers={'x-api-key': os.environ.get('DEMO_KEY', '')}, timeout=30)
print(res.status_code)
