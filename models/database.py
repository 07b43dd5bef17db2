"""The database handle every layer shares (Flask-SQLAlchemy's, bound to an app by create_app)."""
from flask_sqlalchemy import SQLAlchemy

from models.base import Base

db = SQLAlchemy(model_class=Base)
