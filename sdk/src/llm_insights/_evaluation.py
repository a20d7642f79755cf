"""Evaluations: user feedback and pluggable evaluators, as ``gen_ai.evaluation.result`` events.

Events are OpenTelemetry log records carrying ``microsoft.custom_event.name`` so they land in
``customEvents``, keyed by ``gen_ai.response.id``. Registered evaluators (an LLM judge, a
heuristic) run off the app's thread in one daemon worker with a bounded queue: when it is full,
evaluations are dropped and counted, the app is never slowed.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import _state
from . import contract as c
from ._content import redact
from ._guard import guarded, report
from ._metrics import finite_number


@dataclass(frozen=True)
class Evaluation:
    """What an evaluator returns: a name, a score, optionally a label and an explanation."""

    name: str
    score: float | None = None
    label: str | None = None
    explanation: str | None = None


@dataclass(frozen=True)
class EvaluationInput:
    """What an evaluator sees: the completion text (in process only) and ids."""

    response_id: str | None
    model: str | None
    text: str


# evaluator(EvaluationInput) -> Evaluation | list[Evaluation] | None
Evaluator = Callable[..., Any]

_evaluators: list[Evaluator] = []
_queue: queue.Queue[EvaluationInput | None] = queue.Queue(maxsize=1000)
_worker: threading.Thread | None = None
_lock = threading.Lock()


def _emit(
    name: str,
    response_id: Any,
    score: Any,
    label: Any = None,
    explanation: Any = None,
    model: Any = None,
) -> None:
    attrs: dict[str, Any] = {
        c.MS_CUSTOM_EVENT_NAME: c.EVENT_EVALUATION_RESULT,
        c.GEN_AI_EVALUATION_NAME: name,
    }
    value = finite_number(score)
    if value is not None:
        attrs[c.GEN_AI_EVALUATION_SCORE_VALUE] = value
    if isinstance(label, str):
        attrs[c.GEN_AI_EVALUATION_SCORE_LABEL] = label
    if isinstance(explanation, str):
        attrs[c.GEN_AI_EVALUATION_EXPLANATION] = explanation
    if isinstance(response_id, str) and response_id:
        attrs[c.GEN_AI_RESPONSE_ID] = response_id
    if isinstance(model, str) and model:
        attrs[c.GEN_AI_RESPONSE_MODEL] = model
    lg = _state.event_logger()
    try:
        lg.emit(
            event_name=c.EVENT_EVALUATION_RESULT, body=c.EVENT_EVALUATION_RESULT, attributes=attrs
        )
    except TypeError:  # opentelemetry-api before keyword emit()
        from opentelemetry._logs import LogRecord

        lg.emit(LogRecord(body=c.EVENT_EVALUATION_RESULT, attributes=attrs))
    if value is not None:
        if name == c.EVALUATION_USER_FEEDBACK:
            if value >= 0:  # histograms reject negatives; the bucket counter keeps them
                _state.instruments().record(c.FEEDBACK_SCORE, value, {})
            _state.instruments().bucket(c.FEEDBACK_BUCKET_COUNTS, value, {})
        else:
            _state.instruments().record(
                c.EVALUATION_SCORE,
                value,
                {c.GEN_AI_EVALUATION_NAME: name, c.GEN_AI_RESPONSE_MODEL: model},
            )


@guarded("feedback")
def record_feedback(response_id: str, score: float, comment: str | None = None) -> None:
    """User feedback on one response (``gen_ai.evaluation.result`` named ``user_feedback``).

    The comment is free text from a user: it is exported only when content capture is on,
    after the ``redact`` hook.
    """
    explanation = None
    if comment is not None and _state.settings.capture_content == _state.CONTENT_ON:
        explanation = redact(str(comment), _state.settings.redact)
    _emit(c.EVALUATION_USER_FEEDBACK, response_id, score, None, explanation)


@guarded("evaluate")
def evaluate(
    response_id: str | None,
    name: str,
    score: float | None = None,
    label: str | None = None,
    *,
    explanation: str | None = None,
    model: str | None = None,
) -> None:
    """Record one evaluation result you computed yourself."""
    _emit(str(name), response_id, score, label, explanation, model)


def register_evaluator(evaluator: Evaluator) -> None:
    """Run *evaluator* on every completed chat response, in a background worker."""
    with _lock:
        _evaluators.append(evaluator)


def clear_evaluators() -> None:
    with _lock:
        _evaluators.clear()


def _run() -> None:
    while True:
        item = _queue.get()
        try:
            if item is None:
                return
            for ev in list(_evaluators):
                try:
                    result = ev(item)
                except Exception as exc:
                    report("evaluator", exc)
                    continue
                results = result if isinstance(result, list) else [result]
                for r in results:
                    if isinstance(r, Evaluation):
                        _emit(r.name, item.response_id, r.score, r.label, r.explanation, item.model)
        except Exception as exc:
            report("evaluator.worker", exc)
        finally:
            _queue.task_done()


def submit(response_id: str | None, model: str | None, text: str) -> None:
    """Queue a completion for the registered evaluators (no-op when there are none)."""
    global _worker
    if not _evaluators:
        return
    if _worker is None or not _worker.is_alive():
        with _lock:
            if _worker is None or not _worker.is_alive():
                _worker = threading.Thread(target=_run, name="llm-insights-eval", daemon=True)
                _worker.start()
    try:
        _queue.put_nowait(EvaluationInput(response_id, model, text))
    except queue.Full as exc:
        report("evaluator.queue_full", exc)


def drain(timeout: float = 5.0) -> None:
    """Wait until queued evaluations are done (``flush()`` calls it)."""
    import time

    deadline = time.monotonic() + timeout
    while _queue.unfinished_tasks and time.monotonic() < deadline:
        time.sleep(0.01)
