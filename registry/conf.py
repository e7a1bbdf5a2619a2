"""The Piccolo configuration module (``PICCOLO_CONF=registry.conf``).

``DB`` is built from the same settings as the app; ``registry.db.use_engine`` swaps it.
"""

from piccolo.conf.apps import AppRegistry

from registry.db import build_engine
from registry.settings import get_settings

DB = build_engine(get_settings())

APP_REGISTRY = AppRegistry(apps=["registry.piccolo_app"])
