"""Synthetic telemetry covering every contract metric, span attribute and event, for previews.

Rows are shaped like the exporter's (see ``local/envelopes.py``): metric points per export
interval with the metric's own dimensions (bucket counters over their bounds), sampled LLM spans
with ``itemCount`` 2, evaluation events, span-event traces and exceptions. Deterministic per seed.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from llm_insights import contract
from support.telemetry import VALUES, metric_dimensions

from llm_insights_kit.local.store import LocalStore

MODELS = (("gpt-4o", "chat-main"), ("gpt-4o-mini", "chat-mini"))
ERRORS = ("", "", "", "", "", "", "", "", "429", "TimeoutError", "content_filter")
STEP = timedelta(minutes=5)


def _dims(spec: contract.MetricSpec, model: str, deployment: str, rng: random.Random) -> dict:
    error = rng.choice(ERRORS) if contract.ERROR_TYPE in spec.dimensions else ""
    return metric_dimensions(
        spec,
        {
            contract.GEN_AI_REQUEST_MODEL: model,
            contract.GEN_AI_RESPONSE_MODEL: model,
            contract.ATTR_DEPLOYMENT: deployment,
            contract.ERROR_TYPE: error,
        },
    )


def populate(store: LocalStore, start: datetime, end: datetime, seed: int = 1) -> int:
    """Fill *store* with telemetry every 5 minutes over [start, end); returns rows written."""
    rng = random.Random(seed)
    metrics, spans, requests, events, traces, exceptions = [], [], [], [], [], []
    moment = start
    while moment < end:
        for model, deployment in MODELS:
            base = 1.0 if model == "gpt-4o" else 0.4
            for spec in contract.METRICS:
                if spec.name.endswith(".buckets"):
                    bounds = [*spec.bounds, float("inf")]
                    likely = range(max(3, len(bounds) * 2 // 3))  # most calls in low buckets
                    for index in sorted(rng.sample(likely, 3)):
                        dims = _dims(spec, model, deployment, rng)
                        dims[contract.ATTR_BUCKET_LE] = contract.bucket_label(bounds[index])
                        if spec is contract.DURATION_BUCKET_COUNTS:
                            dims.pop(contract.ERROR_TYPE, None)
                        count = rng.randint(1, 20)
                        metrics.append({"timestamp": moment, "name": spec.name, "value": count,
                                        "customDimensions": dims})  # fmt: skip
                    continue
                token_types = (
                    (contract.TOKEN_TYPE_INPUT, contract.TOKEN_TYPE_OUTPUT)
                    if contract.GEN_AI_TOKEN_TYPE in spec.dimensions
                    else (None,)
                )
                for token_type in token_types:
                    dims = _dims(spec, model, deployment, rng)
                    if token_type:
                        dims[contract.GEN_AI_TOKEN_TYPE] = token_type
                    if spec.instrument == "counter":
                        value = round(rng.uniform(0.01, 2.0) * base, 4)
                        metrics.append({"timestamp": moment, "name": spec.name, "value": value,
                                        "customDimensions": dims})  # fmt: skip
                    else:
                        samples = [rng.uniform(0.1, 3.0) * base for _ in range(rng.randint(2, 9))]
                        if spec.unit == "{token}":
                            samples = [s * 400 for s in samples]
                        metrics.append(
                            {"timestamp": moment, "name": spec.name, "value": sum(samples),
                             "valueSum": sum(samples), "valueCount": len(samples),
                             "valueMin": min(samples), "valueMax": max(samples),
                             "customDimensions": dims}
                        )  # fmt: skip
            for n in range(2):
                failed = rng.random() < 0.15
                duration = rng.uniform(200, 4000) * base
                attrs = {
                    contract.GEN_AI_OPERATION_NAME: contract.OPERATION_CHAT,
                    contract.GEN_AI_PROVIDER_NAME: contract.PROVIDER_AZURE_OPENAI,
                    contract.GEN_AI_SYSTEM: contract.PROVIDER_AZURE_OPENAI,
                    contract.GEN_AI_REQUEST_MODEL: model,
                    contract.GEN_AI_RESPONSE_MODEL: model,
                    contract.ATTR_DEPLOYMENT: deployment,
                    contract.SERVER_ADDRESS: VALUES[contract.SERVER_ADDRESS],
                    contract.GEN_AI_USAGE_INPUT_TOKENS: str(rng.randint(50, 900)),
                    contract.GEN_AI_USAGE_OUTPUT_TOKENS: str(rng.randint(20, 400)),
                    contract.MS_COST_INPUT: str(round(rng.uniform(0.0001, 0.01), 6)),
                    contract.MS_COST_OUTPUT: str(round(rng.uniform(0.0001, 0.01), 6)),
                    contract.GEN_AI_RESPONSE_FINISH_REASONS: '["stop"]',
                    contract.GEN_AI_REQUEST_STREAM: "true" if n else "false",
                    contract.ENDUSER_ID: f"user-{rng.randint(1, 5)}",
                    contract.SESSION_ID: f"session-{rng.randint(1, 9)}",
                }
                if failed:
                    attrs[contract.ERROR_TYPE] = rng.choice(("429", "TimeoutError"))
                op_id = f"{rng.getrandbits(128):032x}"
                when = moment + timedelta(seconds=rng.randint(0, 290))
                spans.append(
                    {"timestamp": when, "id": f"{rng.getrandbits(64):016x}",
                     "name": f"{contract.OPERATION_CHAT} {model}", "type": "N/A",
                     "target": VALUES[contract.SERVER_ADDRESS], "success": not failed,
                     "resultCode": attrs.get(contract.ERROR_TYPE, "200"), "duration": duration,
                     "operation_Id": op_id, "operation_Name": "POST /chat", "itemCount": 2,
                     "customDimensions": attrs, "cloud_RoleName": "llm.chat-api"}
                )  # fmt: skip
                requests.append(
                    {"timestamp": when, "name": "POST /chat", "url": "http://app/chat",
                     "success": not failed, "resultCode": "500" if failed else "200",
                     "duration": duration + 20, "operation_Id": op_id, "itemCount": 2,
                     "cloud_RoleName": "llm.chat-api"}
                )  # fmt: skip
                for operation, extra in (
                    (
                        contract.OPERATION_RETRIEVAL,
                        {
                            contract.ATTR_RETRIEVAL_NAME: VALUES[contract.ATTR_RETRIEVAL_NAME],
                            contract.ATTR_RETRIEVAL_DOCUMENTS: str(rng.randint(0, 8)),
                            contract.ATTR_RETRIEVAL_TOP_SCORE: str(round(rng.random(), 3)),
                        },
                    ),
                    (
                        contract.OPERATION_EXECUTE_TOOL,
                        {contract.GEN_AI_TOOL_NAME: VALUES[contract.GEN_AI_TOOL_NAME]},
                    ),
                ):
                    spans.append(
                        {"timestamp": when, "id": f"{rng.getrandbits(64):016x}",
                         "name": f"{operation} {next(iter(extra.values()))}", "type": "InProc",
                         "success": True, "resultCode": "0", "duration": rng.uniform(5, 300),
                         "operation_Id": op_id, "operation_Name": "POST /chat", "itemCount": 2,
                         "customDimensions": {contract.GEN_AI_OPERATION_NAME: operation, **extra},
                         "cloud_RoleName": "llm.chat-api"}
                    )  # fmt: skip
                agent = {  # the agent run around the call (its totals, as the SDK sets them)
                    contract.GEN_AI_OPERATION_NAME: contract.OPERATION_INVOKE_AGENT,
                    contract.GEN_AI_AGENT_NAME: "triage",
                    contract.ATTR_AGENT_MODEL_CALLS: "1",
                    contract.ATTR_AGENT_TOOL_CALLS: "1",
                    contract.ATTR_AGENT_TOKENS: str(rng.randint(100, 900)),
                    contract.ATTR_AGENT_COST: str(round(rng.uniform(0.0001, 0.01), 6)),
                }
                if failed:
                    agent[contract.ATTR_ERROR_TYPE] = "AgentTurnLimitError"
                spans.append(
                    {"timestamp": when, "id": f"{rng.getrandbits(64):016x}",
                     "name": "invoke_agent triage", "type": "InProc", "success": not failed,
                     "resultCode": "0", "duration": duration + 10, "operation_Id": op_id,
                     "operation_Name": "POST /chat", "itemCount": 2, "customDimensions": agent,
                     "cloud_RoleName": "llm.chat-api"}
                )  # fmt: skip
                events.append(
                    {"timestamp": when, "name": contract.EVENT_EVALUATION_RESULT,
                     "operation_Id": op_id, "itemCount": 2,
                     "customDimensions": {
                         contract.GEN_AI_EVALUATION_NAME: rng.choice(
                             ("relevance", contract.EVALUATION_USER_FEEDBACK)),
                         contract.GEN_AI_EVALUATION_SCORE_VALUE: str(round(rng.random(), 2)),
                         contract.GEN_AI_EVALUATION_SCORE_LABEL: rng.choice(("good", "bad")),
                         contract.GEN_AI_RESPONSE_MODEL: model}}
                )  # fmt: skip
                traces.append(
                    {"timestamp": when, "message": contract.EVENT_FIRST_CHUNK,
                     "operation_Id": op_id, "itemCount": 2, "customDimensions": {}}
                )  # fmt: skip
                if failed:
                    traces.append(
                        {"timestamp": when, "message": contract.EVENT_CONTENT_FILTER,
                         "operation_Id": op_id, "itemCount": 2,
                         "customDimensions": {k: VALUES[k] for k in (
                             contract.ATTR_FILTER_CATEGORY, contract.ATTR_FILTER_SEVERITY,
                             contract.ATTR_FILTER_SOURCE, contract.ATTR_FILTER_FILTERED)}}
                    )  # fmt: skip
                    exceptions.append(
                        {"timestamp": when, "type": "TimeoutError", "message": "timed out",
                         "outerType": "TimeoutError", "innermostType": "TimeoutError",
                         "problemId": "TimeoutError", "severityLevel": 3,
                         "operation_Id": op_id, "itemCount": 2}
                    )  # fmt: skip
        moment += STEP
    return (
        store.insert(contract.TABLE_METRICS, metrics)
        + store.insert(contract.TABLE_LLM_SPANS, spans)
        + store.insert(contract.TABLE_SERVER_SPANS, requests)
        + store.insert(contract.TABLE_EVENTS, events)
        + store.insert(contract.TABLE_SPAN_EVENTS, traces)
        + store.insert(contract.TABLE_EXCEPTIONS, exceptions)
    )
