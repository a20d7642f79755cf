"""Where a call went (server address and port, Azure or not, the deployment) is read from the
client once per URL: it must follow the client's public ``base_url`` in every openai release the
kit supports (the compatibility run repeats this file on each), including a URL changed after
the client was made."""

from __future__ import annotations

import openai
from llm_insights import _instrument_openai
from llm_insights import contract as c


def test_the_url_read_is_the_clients_public_base_url(openai_client, azure_client):
    for client in (openai_client, azure_client):
        kept = vars(client).get("_base_url")
        assert kept is None or kept is client.base_url
        base, _, _, _ = _instrument_openai._target(client.chat.completions)
        assert base == str(client.base_url)


def test_a_client_moved_to_another_url_reports_the_new_server(instrumented_openai, stand):
    client = openai.OpenAI(base_url=stand.base_url, api_key="test", max_retries=0)
    ask = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    client.chat.completions.create(**ask)
    client.base_url = stand.base_url.replace("127.0.0.1", "localhost")
    client.chat.completions.create(**ask)
    servers = [s.attributes[c.SERVER_ADDRESS] for s in instrumented_openai.spans()]
    assert servers == ["127.0.0.1", "localhost"]


def test_a_client_without_the_kept_url_is_read_through_the_property():
    class Client:
        base_url = "https://acme.openai.azure.com/openai/deployments/chat-prod/"

    class Resource:
        _client = Client()

    base, host, port, azure = _instrument_openai._target(Resource())
    assert (host, port, azure) == ("acme.openai.azure.com", 443, True)
    assert base == Client.base_url
