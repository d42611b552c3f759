"""The local runtime's defaults and the names the command line shares with it, apart from the runtime so that the
command line imports them cheaply (``send`` and ``state`` work without the ``[runtime]`` extra).

The playground ports (8090, 8091) are module.yaml's defaults: see :mod:`statefun_faas.moduleyaml.model`.
"""

#: the folder of the state, inboxes and dead letters
STATE_DIR = ".statefun-faas"
#: the address the ingress and egress ports bind
HOST = "127.0.0.1"
#: the port of the Kafka and Kinesis kinds bound to local topics
LOCAL_IO_PORT = 8092
#: the web console's port (when taken and not asked for by --console-port, any free one)
CONSOLE_PORT = 8093
#: on a playground ingress answer (still 200: the message is stored) when no function serves its type
WARNING_HEADER = "X-Statefun-Faas-Warning"
#: the invocations the history keeps in the state folder when run and dev get no --history
HISTORY = 1000
