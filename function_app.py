"""The Functions app: one DFApp, one blueprint per role folder, nothing else."""

import azure.durable_functions as df
import azure.functions as func

from activities import bp as activities_bp
from entities import bp as entities_bp
from orchestrators import bp as orchestrators_bp
from triggers import bp as triggers_bp

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)

for blueprint in (orchestrators_bp, activities_bp, entities_bp, triggers_bp):
    app.register_functions(blueprint)
