# Written the way Microsoft's samples-v2/blueprint is: the functions live in a Blueprint
# module, and function_app.py only creates the DFApp and registers it.
import azure.durable_functions as df
import azure.functions as func
from blueprints.durable_blueprints import bp

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(bp)
