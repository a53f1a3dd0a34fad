// The IPv6 cases of the conformance suite against an API-only control plane serving on [::1].
import { runConformance } from './runner';
import { realTarget } from './targets';

runConformance({ kind: 'real', start: () => realTarget({ name: 'conformance-v6', ipv6: true, apiOnly: true }), include: (c) => !!c.ipv6 });
