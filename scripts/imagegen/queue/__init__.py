"""The file-based job queue: JSON files under one directory, drained by detached workers.

Layout (``layout.QueueDirs``)::

    pending/<job_id>.json     waiting to run
    running/<job_id>.json     claimed by a worker (moved here with an atomic rename)
    running/<job_id>.lease    who holds it: worker id, pid, host, heartbeat
    results/<job_id>.json     finished: the job plus its result
    failed/<job_id>.json      given up: the job plus the reason
    index/<request_id>/<NNNN> variant numbers claimed per request (O_EXCL), for idempotency
    workers/                  slot locks and per-worker liveness locks (fcntl.flock)
    logs/                     detached workers' output
"""
