import { describe, expect, it } from 'vitest';
import { isOnecliError } from '../../../src/errors.js';
import { parseResolveRule } from '../../../src/run/resolve-rule.js';

describe('parseResolveRule', () => {
  it('reads HOST:PORT:ADDR and HOST:PORT:ADDR:PORT2', () => {
    expect(parseResolveRule('API.Example.com:443:127.0.0.1')).toEqual({ host: 'api.example.com', port: 443, address: '127.0.0.1', targetPort: 443 });
    expect(parseResolveRule('api.example.com:443:127.0.0.1:8443')).toEqual({ host: 'api.example.com', port: 443, address: '127.0.0.1', targetPort: 8443 });
  });

  it('reads IPv6 addresses in brackets', () => {
    expect(parseResolveRule('api.example.com:443:[::1]:9000')).toEqual({ host: 'api.example.com', port: 443, address: '::1', targetPort: 9000 });
  });

  it.each(['', 'api.example.com', 'api.example.com:443', 'api.example.com:0:127.0.0.1', 'api.example.com:443:127.0.0.1:70000', 'a b:443:1.2.3.4', 'api.example.com:https:127.0.0.1', 'h:1:2:3:4'])(
    'refuses %j with a usage error and a hint',
    (spec) => {
      let caught: unknown;
      try {
        parseResolveRule(spec);
      } catch (err) {
        caught = err;
      }
      expect(isOnecliError(caught, 'E_USAGE')).toBe(true);
      expect((caught as { hints: string[] }).hints[0]).toMatch(/HOST:PORT:ADDR\[:PORT2\]/);
    },
  );
});
