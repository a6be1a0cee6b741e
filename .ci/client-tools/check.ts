// What a TypeScript caller writes against the types openapi-typescript
// generates (lotara.ts, beside this file when .ci/clients runs tsc on it).
import type { components, operations, paths } from "./lotara";

type Schemas = components["schemas"];

// Constraints are optional; unknown constraint keys are kept.
const plain: Schemas["PlanRequest"] = { user_id: "u-1", query: "3 days in Hanoi" };
const detailed: Schemas["PlanRequest"] = {
  user_id: "u-1",
  query: "3 days in Hanoi",
  constraints: { budget_usd: 900, duration_days: 3, interests: ["food"], my_key: { x: 1 } },
};
// @ts-expect-error query is required
const missing: Schemas["PlanRequest"] = { user_id: "u-1" };

type Accepted = paths["/v1/plan"]["post"]["responses"][202]["content"]["application/json"];
type Status = operations["job_status"]["responses"][200]["content"]["application/json"];

function finished(status: Status): boolean {
  return status.status === "completed" || status.status === "failed" || status.status === "cancelled";
}

// An EventSource handler: each event name has its payload type.
type StreamEvents = Schemas["StreamEvents"];
function onEvent<E extends keyof StreamEvents>(event: E, data: string): StreamEvents[E] {
  return JSON.parse(data) as StreamEvents[E];
}
const progress = onEvent("agent_progress", '{"agent": "flight_agent", "tokens": 12}');
const tokens: number = progress.tokens;
const done = onEvent("complete", "{}");
const nights: number = done.result.dates.nights;

export { plain, detailed, missing, finished, tokens, nights };
export type { Accepted };
