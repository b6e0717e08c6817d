"""Statistics: the figures a regulator publishes (requests by kind, outcome,
agency and area; money recovered through mediation), exact and live.

A read model fed by the four public topics through the same exactly-once
tracking as every other service: one `RequestFacts` aggregate per request
holds the facts as they arrived, and the figures are a pure query over them."""
