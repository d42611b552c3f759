"""The embedded local StateFun runtime: reads module.yaml files and drives remote functions.

Importing this package stays cheap; the runtime's dependencies (PyYAML, aiohttp, boto3 from
the ``[runtime]`` extra) are imported by the submodules that need them.
"""
