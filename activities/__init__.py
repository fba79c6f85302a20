"""Blueprint for the activities of Crosswalk; each module here adds its functions to `bp`."""

import azure.durable_functions as df

bp = df.Blueprint()
