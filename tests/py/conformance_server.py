#!/usr/bin/env python3
"""A Streamable HTTP MCP server with every fixture the official conformance
suite's server scenarios ask for, built on the official Python SDK.

    conformance_server.py --port PORT

Serves http://127.0.0.1:PORT/mcp (stateful sessions; the SDK's DNS-rebinding
protection for a loopback host). tests/conformance.rs runs the suite's
server scenarios against it directly and through `mcp-warden connect`, so
that every feature a scenario exercises (content types, logging and progress
notifications, sampling and elicitation requests from the server, resources,
templates, subscriptions, prompts, completion) crosses the bridge and the
two runs can be compared.

What each fixture answers is what the suite's scenario descriptions specify
(`conformance list --server`, then a scenario's description).
"""

from __future__ import annotations

import argparse
import json

import anyio
from mcp import types
from mcp.server.mcpserver import Context, MCPServer, UserMessage

# A 1x1 red PNG and a minimal WAV, base64.
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
WAV = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA="


def text(t: str) -> types.TextContent:
    return types.TextContent(type="text", text=t)


def image() -> types.ImageContent:
    return types.ImageContent(type="image", data=PNG, mime_type="image/png")


def embedded(uri: str, mime: str, body: str) -> types.EmbeddedResource:
    return types.EmbeddedResource(
        type="resource", resource=types.TextResourceContents(uri=uri, mime_type=mime, text=body)
    )


def add_content_tools(s: MCPServer) -> None:
    @s.tool(description="Returns simple text content")
    def test_simple_text() -> types.CallToolResult:
        return types.CallToolResult(content=[text("This is a simple text response for testing.")])

    @s.tool(description="Returns image content")
    def test_image_content() -> types.CallToolResult:
        return types.CallToolResult(content=[image()])

    @s.tool(description="Returns audio content")
    def test_audio_content() -> types.CallToolResult:
        return types.CallToolResult(content=[types.AudioContent(type="audio", data=WAV, mime_type="audio/wav")])

    @s.tool(description="Returns an embedded resource")
    def test_embedded_resource() -> types.CallToolResult:
        body = "This is an embedded resource content."
        return types.CallToolResult(content=[embedded("test://embedded-resource", "text/plain", body)])

    @s.tool(description="Returns text, image and resource content")
    def test_multiple_content_types() -> types.CallToolResult:
        body = json.dumps({"test": "data", "value": 123})
        return types.CallToolResult(
            content=[
                text("Multiple content types test:"),
                image(),
                embedded("test://mixed-content-resource", "application/json", body),
            ]
        )

    @s.tool(description="Always fails")
    def test_error_handling() -> types.CallToolResult:
        return types.CallToolResult(
            content=[text("This tool intentionally returns an error for testing")], is_error=True
        )


def add_notifying_tools(s: MCPServer) -> None:
    @s.tool(description="Sends three info log messages while it runs")
    async def test_tool_with_logging(ctx: Context) -> str:
        await ctx.info("Tool execution started")
        await anyio.sleep(0.05)
        await ctx.info("Tool processing data")
        await anyio.sleep(0.05)
        await ctx.info("Tool execution completed")
        return "Tool with logging executed successfully"

    @s.tool(description="Reports progress 0, 50, 100 of 100")
    async def test_tool_with_progress(ctx: Context) -> str:
        for step in (0, 50, 100):
            await ctx.report_progress(step, 100)
            if step < 100:
                await anyio.sleep(0.05)
        return "Tool with progress executed successfully"


def add_client_request_tools(s: MCPServer) -> None:
    @s.tool(description="Asks the client for an LLM completion of `prompt`")
    async def test_sampling(prompt: str, ctx: Context) -> str:
        msg = types.SamplingMessage(role="user", content=text(prompt))
        got = await ctx.session.create_message([msg], max_tokens=100, related_request_id=ctx.request_id)
        answer = getattr(got.content, "text", str(got.content))
        return f"LLM response: {answer}"

    @s.tool(description="Asks the user (elicitation) for a username and an email")
    async def test_elicitation(message: str, ctx: Context) -> str:
        schema = {
            "type": "object",
            "properties": {
                "username": {"type": "string", "description": "User's response"},
                "email": {"type": "string", "description": "User's email address"},
            },
            "required": ["username", "email"],
        }
        got = await ctx.session.elicit_form(message, schema, related_request_id=ctx.request_id)
        return f"User response: action={got.action}, content={json.dumps(got.content)}"

    @s.tool(description="Elicitation with a default for every primitive type (SEP-1034)")
    async def test_elicitation_sep1034_defaults(ctx: Context) -> str:
        schema = {
            "type": "object",
            "properties": {
                "name": {"type": "string", "default": "John Doe"},
                "age": {"type": "integer", "default": 30},
                "score": {"type": "number", "default": 95.5},
                "status": {"type": "string", "enum": ["active", "inactive", "pending"], "default": "active"},
                "verified": {"type": "boolean", "default": True},
            },
        }
        got = await ctx.session.elicit_form("Defaults test", schema, related_request_id=ctx.request_id)
        return f"Elicitation completed: action={got.action}, content={json.dumps(got.content)}"

    @s.tool(description="Elicitation with the five enum schema forms (SEP-1330)")
    async def test_elicitation_sep1330_enums(ctx: Context) -> str:
        got = await ctx.session.elicit_form("Enum test", ENUM_SCHEMA, related_request_id=ctx.request_id)
        return f"Elicitation completed: action={got.action}, content={json.dumps(got.content)}"


ENUM_SCHEMA = {
    "type": "object",
    "properties": {
        "untitledSingle": {"type": "string", "enum": ["option1", "option2", "option3"]},
        "titledSingle": {
            "type": "string",
            "oneOf": [
                {"const": "value1", "title": "First Option"},
                {"const": "value2", "title": "Second Option"},
                {"const": "value3", "title": "Third Option"},
            ],
        },
        "legacyEnum": {
            "type": "string",
            "enum": ["opt1", "opt2", "opt3"],
            "enumNames": ["Option One", "Option Two", "Option Three"],
        },
        "untitledMulti": {"type": "array", "items": {"type": "string", "enum": ["option1", "option2", "option3"]}},
        "titledMulti": {
            "type": "array",
            "items": {
                "anyOf": [
                    {"const": "value1", "title": "First Choice"},
                    {"const": "value2", "title": "Second Choice"},
                    {"const": "value3", "title": "Third Choice"},
                ]
            },
        },
    },
}


def add_resources(s: MCPServer) -> None:
    @s.resource("test://static-text", name="static-text", description="A static text resource", mime_type="text/plain")
    def static_text() -> str:
        return "This is the content of the static text resource."

    @s.resource("test://static-binary", name="static-binary", description="A static PNG", mime_type="image/png")
    def static_binary() -> bytes:
        import base64

        return base64.b64decode(PNG)

    @s.resource("test://watched-resource", name="watched-resource", description="Subscribable", mime_type="text/plain")
    def watched() -> str:
        return "Watched resource content"

    @s.resource("test://template/{id}/data", name="template", description="Data by id", mime_type="application/json")
    def template(id: str) -> str:  # noqa: A002 - the template's parameter name
        return json.dumps({"id": id, "templateTest": True, "data": f"Data for ID: {id}"})


def add_prompts(s: MCPServer) -> None:
    @s.prompt(description="A prompt without arguments")
    def test_simple_prompt() -> list[UserMessage]:
        return [UserMessage("This is a simple prompt for testing.")]

    @s.prompt(description="A prompt with two arguments")
    def test_prompt_with_arguments(arg1: str, arg2: str) -> list[UserMessage]:
        return [UserMessage(f"Prompt with arguments: arg1='{arg1}', arg2='{arg2}'")]

    @s.prompt(description="A prompt embedding a resource")
    def test_prompt_with_embedded_resource(resourceUri: str) -> list[UserMessage]:  # noqa: N803 - wire name
        return [
            UserMessage(embedded(resourceUri, "text/plain", "Embedded resource content for testing.")),
            UserMessage("Please process the embedded resource above."),
        ]

    @s.prompt(description="A prompt with an image")
    def test_prompt_with_image() -> list[UserMessage]:
        return [UserMessage(image()), UserMessage("Please analyze the image above.")]

    @s.completion()
    async def complete(ref, argument, context):  # noqa: ANN001 - the SDK's callback shape
        words = ["paris", "park", "party"]
        values = [w for w in words if w.startswith(argument.value or "")]
        return types.Completion(values=values, total=len(values), has_more=False)


def add_legacy_handlers(s: MCPServer) -> None:
    """logging/setLevel and resources/(un)subscribe answer `{}`."""
    subscribed: set[str] = set()

    async def set_level(_ctx, _params) -> types.EmptyResult:  # noqa: ANN001
        return types.EmptyResult()

    async def subscribe(_ctx, params) -> types.EmptyResult:  # noqa: ANN001
        subscribed.add(str(params.uri))
        return types.EmptyResult()

    async def unsubscribe(_ctx, params) -> types.EmptyResult:  # noqa: ANN001
        subscribed.discard(str(params.uri))
        return types.EmptyResult()

    low = s._lowlevel_server  # noqa: SLF001 - the SDK's documented escape hatch for raw handlers
    low.add_request_handler("logging/setLevel", types.SetLevelRequestParams, set_level)
    low.add_request_handler("resources/subscribe", types.SubscribeRequestParams, subscribe)
    low.add_request_handler("resources/unsubscribe", types.UnsubscribeRequestParams, unsubscribe)


def build() -> MCPServer:
    s = MCPServer("mcp-warden-conformance-fixture", version="1.0.0")
    add_content_tools(s)
    add_notifying_tools(s)
    add_client_request_tools(s)
    add_resources(s)
    add_prompts(s)
    add_legacy_handlers(s)
    return s


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    a = ap.parse_args()
    build().run("streamable-http", host="127.0.0.1", port=a.port)


if __name__ == "__main__":
    main()
