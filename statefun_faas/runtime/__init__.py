"""The embedded local StateFun runtime: reads module.yaml files and drives remote functions.

Importing this package stays cheap; the runtime's dependencies (PyYAML, httptools, aiokafka and prometheus-client
from the ``[runtime]`` extra, boto3 from ``[boto3]``) are imported by the submodules that need them.
"""
