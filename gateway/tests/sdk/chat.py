"""Drives the gateway with the official OpenAI Python SDK, changing only the base URL and key.

Usage: chat.py <gateway base url> <api key>
Prints one JSON object: for a plain and a streamed chat, the request id the gateway
answered with, the text, and the usage the SDK saw.
"""

import json
import sys

from openai import OpenAI


def main() -> None:
    base_url, api_key = sys.argv[1], sys.argv[2]
    client = OpenAI(base_url=f"{base_url}/v1", api_key=api_key, max_retries=0)
    messages = [{"role": "user", "content": "Tell me something short."}]

    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=messages, max_tokens=40
    )
    plain = raw.parse()
    result = {
        "plain": {
            "request_id": raw.headers["x-request-id"],
            "remaining_tokens": raw.headers["x-ratelimit-remaining-tokens"],
            "text": plain.choices[0].message.content,
            "total_tokens": plain.usage.total_tokens,
        }
    }

    raw_stream = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini",
        messages=messages,
        max_tokens=40,
        stream=True,
        stream_options={"include_usage": True},
    )
    text, usage = "", None
    for chunk in raw_stream.parse():
        if chunk.choices and chunk.choices[0].delta.content:
            text += chunk.choices[0].delta.content
        if chunk.usage is not None:
            usage = chunk.usage.total_tokens
    result["stream"] = {
        "request_id": raw_stream.headers["x-request-id"],
        "text": text,
        "total_tokens": usage,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
