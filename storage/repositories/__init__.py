"""The repositories of the unit of work (`storage.uow`), one module each with its own
statements: what the core's ports and the service's queues read and write."""
