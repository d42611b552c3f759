"""The local runtime's defaults, apart from the runtime so that the command line's parsers import them cheaply.

The playground ports (8090, 8091) are module.yaml's defaults: see :mod:`statefun_faas.moduleyaml.model`.
"""

#: the folder of the state, inboxes and dead letters
STATE_DIR = ".statefun-faas"
#: the address the ingress and egress ports bind
HOST = "127.0.0.1"
#: the port of the Kafka and Kinesis kinds bound to local topics
LOCAL_IO_PORT = 8092
