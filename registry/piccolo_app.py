"""The single Piccolo app holding every table of the registry."""

import os

from piccolo.conf.apps import AppConfig

from registry.tables import TABLES

APP_CONFIG = AppConfig(
    app_name="registry",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=list(TABLES),
    migration_dependencies=[],
    commands=[],
)
