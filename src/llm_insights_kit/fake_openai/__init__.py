"""A fake OpenAI (and Azure OpenAI) API: a loopback HTTP server with scripted behaviour, for the
tests, the demo and the bench.

The real ``openai`` client (``OpenAI`` and ``AzureOpenAI``, sync and async) talks plain HTTP to it,
so instrumentation is tested without mocking the client. Standard library only; one daemon thread.

Stable API (others depend on it)::

    from llm_insights_kit.fake_openai.scripted import Scripted
    from llm_insights_kit.fake_openai.server import FakeOpenAI

    with FakeOpenAI(deployments={"chat-prod": "gpt-4o-2024-08-06"}) as srv:
        client = openai.OpenAI(base_url=srv.base_url, api_key="x", max_retries=0)
        azure = openai.AzureOpenAI(azure_endpoint=srv.azure_endpoint, api_key="x",
                                   api_version="2024-10-21", max_retries=0)
        srv.script(Scripted(text="Hi", latency=0.05))      # next request gets this (FIFO queue)
        srv.models["gpt-4o-mini"] = Scripted(output_tokens=3)  # per request-model behaviour
        srv.scenarios["slow"] = Scripted(latency=2.0)          # chosen by header x-standin-scenario
        ...
        srv.requests  # list[RecordedRequest]: method, path, query, headers, body (parsed JSON)

Routes: ``POST /v1/chat/completions``, ``POST /v1/embeddings``, ``POST /v1/responses`` (the
Responses API, streamed as typed ``response.*`` events) and the Azure paths
``POST /openai/deployments/{deployment}/chat/completions?api-version=…``,
``…/{deployment}/embeddings`` and ``/openai/v1/responses`` (the paths without ``/v1`` work too).

Which script answers a request, first match wins: the header ``x-standin-scenario: <name>``
(``srv.scenarios``, pre-filled with :data:`BUILTIN_SCENARIOS`), a model or deployment name of the
form ``standin-<scenario>`` (so a multi-process demo can drive it through the model name alone),
the FIFO queue filled by ``script()``, ``srv.models[request model or deployment]``, ``srv.default``.

Responses: the response ``model`` is ``Scripted.model`` if set, else for Azure paths the
deployment's real model from ``deployments`` (else the deployment name), else the request model.
Streams are SSE (``data: {...}`` lines, then ``data: [DONE]``); the final usage chunk (empty
``choices``) is sent only when the request asks ``stream_options.include_usage``, as OpenAI does.
Azure paths carry ``prompt_filter_results`` / ``content_filter_results`` like Azure OpenAI
(all ``safe`` unless scripted; a stream starts with a prompt-filter-only chunk). Embeddings honour
``encoding_format=base64`` (the openai client's default). Errors are OpenAI-shaped JSON bodies;
429 carries ``retry-after``; a content-filtered prompt is the Azure 400 with
``code: content_filter`` and ``innererror.content_filter_result``.

Run it standalone: ``python -m llm_insights_kit.fake_openai --port 8089`` (``--help`` lists the
scenarios and how to pick them; ``cli``).

Modules: ``server`` (``FakeOpenAI``: routes, streaming, recording), ``scripted`` (``Scripted``,
the built-in scenarios, content-filter results), ``payloads`` (the JSON bodies OpenAI and Azure
OpenAI return, built from a script), ``cli`` (the command line).
"""
