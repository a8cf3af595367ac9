import { describe, expect, it } from 'vitest';
import { parsePrometheus, pullThroughSummary } from '../../../../server/src/ui/src/api/metrics';

const TEXT = `# HELP http_requests_total HTTP requests answered
# TYPE http_requests_total counter
http_requests_total{method="GET",route="/:hostname/:namespace/:type/index.json",status="200"} 70
http_requests_total{method="GET",route="/:hostname/:namespace/:type/:version.json",status="404"} 20
http_requests_total{method="GET",route="/hosts/:host/v1/providers/:namespace/:type/versions",status="200"} 10
http_requests_total{method="GET",route="/admin/api/jobs",status="200"} 500
http_requests_total{method="GET",route="/ui/",status="200"} 40
http_requests_total{method="POST",route="/admin/api/providers/load",status="202"} 3
pull_misses_total 15
pull_module_misses_total 5
pull_answers_total{answer="hit"} 2
pull_answers_total{answer="pulled"} 10
pull_answers_total{answer="refused"} 3
pull_module_answers_total{answer="pulled"} 5
pull_upstream_state{hostname="registry.terraform.io"} 0
pull_upstream_state{hostname="registry.opentofu.org"} 1
`;

describe('pull-through figures from /metrics', () => {
  it('reads samples with their labels, escapes included', () => {
    const samples = parsePrometheus('a_total{x="q\\"uote",y="b"} 3\n# comment\nb 1.5e2\n');
    expect(samples).toEqual([
      { name: 'a_total', labels: { x: 'q"uote', y: 'b' }, value: 3 },
      { name: 'b', labels: {}, value: 150 },
    ]);
  });

  it('counts Terraform reads only, and the hit ratio as the share the database answered', () => {
    const s = pullThroughSummary(parsePrometheus(TEXT))!;
    expect(s.reads).toBe(100);
    expect(s.misses).toBe(20);
    expect(s.hitRatio).toBeCloseTo(0.8);
    expect(s.answers).toEqual({ hit: 2, pulled: 15, refused: 3 });
    expect(s.upstreams).toEqual([
      { hostname: 'registry.terraform.io', backingOff: false },
      { hostname: 'registry.opentofu.org', backingOff: true },
    ]);
  });

  it('says nothing when the server exports no pull-through series, and no ratio before any read', () => {
    expect(pullThroughSummary(parsePrometheus('http_requests_total{method="GET",route="/x",status="200"} 1\n'))).toBeUndefined();
    expect(pullThroughSummary(parsePrometheus('pull_misses_total 0\n'))!.hitRatio).toBeUndefined();
  });
});
