"""The floor: the benchmark's greeter written directly on upb protobuf, with no SDK plumbing.

It parses the request, answers missing state with an IncompleteInvocationContext, decodes
the state on every read and encodes it on every write (as any generic SDK must), and builds
and serializes the same FromFunction the SDK greeter does. Nothing is cached between
requests. ``benchmarks/handler.py`` compares every contender with it.
"""

from __future__ import annotations

from statefun_faas._wire import FromFunction, IntWrapper, StringWrapper, ToFunction

INT = "io.statefun.types/int"
STRING = "io.statefun.types/string"
MODIFY = FromFunction.PersistedValueMutation.MutationType.MODIFY


def handle(request: bytes) -> bytes:
    batch = ToFunction.FromString(request).invocation
    seen_value = None
    for state in batch.state:
        if state.state_name == "seen":
            seen_value = state.state_value
    response = FromFunction()
    if seen_value is None:
        missing = response.incomplete_invocation_context.missing_values.add(state_name="seen", type_typename=INT)
        missing.expiration_spec.SetInParent()
        return response.SerializeToString()
    result = response.invocation_result
    current = seen_value
    for invocation in batch.invocations:
        seen = IntWrapper.FromString(current.value).value if current.has_value else 0
        current = current.__class__(typename=INT, has_value=True, value=IntWrapper(value=seen + 1).SerializeToString())
        name = StringWrapper.FromString(invocation.argument.value).value
        greeting = StringWrapper(value=f"Hello {name} #{seen + 1}").SerializeToString()
        egress = result.outgoing_egresses.add(egress_namespace="bench", egress_type="out")
        egress.argument.typename, egress.argument.has_value, egress.argument.value = STRING, True, greeting
        if invocation.caller.type:
            reply = result.outgoing_messages.add()
            reply.target.CopyFrom(invocation.caller)
            reply.argument.typename, reply.argument.has_value = INT, True
            reply.argument.value = IntWrapper(value=seen + 1).SerializeToString()
    if len(batch.invocations):
        mutation = result.state_mutations.add(mutation_type=MODIFY, state_name="seen")
        mutation.state_value.CopyFrom(current)
    return response.SerializeToString()
