"""A Function App's ``function_app.py`` as a user writes it; the Azure tests index it like the worker."""

import azure.functions as func

from statefun_faas import Context, Message, StatefulFunctions, message_builder
from statefun_faas.adapters.azure import register

functions = StatefulFunctions()


@functions.bind("example/greeter")
async def greet(context: Context, message: Message) -> None:
    context.send(message_builder("example/printer", context.address.id, str_value=f"hello {message.as_string()}"))


app = func.FunctionApp()
register(app, functions)  # POST /api/statefun, auth level FUNCTION; GET /api/healthz
