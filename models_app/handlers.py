"""Job handlers, one per run kind, registered with `jobs.register`.

Each handler calls the `training` library and stores what it yields; see the issue that adds each kind.
"""
