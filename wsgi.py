"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""
from jury import create_app

app = create_app()
