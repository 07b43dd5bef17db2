"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""
import gc

from jury import create_app

app = create_app()

# What was allocated up to here (the app and its libraries, ~125,000 objects) lives as long as
# the process. Freezing it takes it out of the collector's view, so the occasional full
# collection scans only what requests left behind: unfrozen, one such pass stalled a worker
# for 50-70 ms, the whole of the juror pages' latency tail.
gc.freeze()
