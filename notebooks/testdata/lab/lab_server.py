"""Serve the JupyterLab application built from npm's @jupyterlab packages
(index.js, webpack.config.js; built by build.sh) with Debian's jupyter-server
and jupyterlab-server, for atonce's browser test (notebooks/lab_test.go).

jupyterlab_server's LabServerApp serves a prebuilt JupyterLab: the page
(templates/index.html), the bundle and its assets from the build directory,
the settings schemas and themes the build copied there, and the settings and
workspaces APIs. jupyter-server serves contents, kernels and sessions.

usage: /usr/bin/python3 lab_server.py --build-dir=DIR --state-dir=DIR [jupyter-server options]

  --build-dir   the build (build.sh --print prints where it is)
  --state-dir   a writable directory for the user's settings and workspaces

Settings every run starts with are in settings/overrides.json beside this file:
JupyterLab asks whether to fetch news from the web, which would hide part of
the notebook behind its question; they answer no.
"""

import os

from jupyterlab_server import LabServerApp
from traitlets import Unicode

HERE = os.path.dirname(os.path.abspath(__file__))

# Configuration files on disk (~/.jupyter) must not change what the test sees.
os.environ["JUPYTER_NO_CONFIG"] = "1"


def _jupyter_server_extension_points():
    return [{"module": __name__, "app": AtonceLab}]


class AtonceLab(LabServerApp):
    """JupyterLab, prebuilt, served at /lab."""

    name = __name__
    extension_url = "/lab"
    default_url = "/lab"
    load_other_extensions = False
    app_name = "JupyterLab"

    build_dir = Unicode("", config=True, help="The built application (build.sh --print).")
    state_dir = Unicode("", config=True, help="Where the user's settings and workspaces go.")

    aliases = {
        **LabServerApp.aliases,
        "build-dir": "AtonceLab.build_dir",
        "state-dir": "AtonceLab.state_dir",
    }

    def _prepare_config(self):
        super()._prepare_config()
        if not self.build_dir or not os.path.isfile(os.path.join(self.build_dir, "bundle.js")):
            raise SystemExit(f"lab_server.py: no JupyterLab build in {self.build_dir!r}: run build.sh beside this file")
        if not self.state_dir:
            raise SystemExit("lab_server.py: --state-dir is required")
        with open(os.path.join(self.build_dir, "version")) as f:
            self.app_version = f.read().strip()
        self.static_dir = self.build_dir
        self.schemas_dir = os.path.join(self.build_dir, "schemas")
        self.themes_dir = os.path.join(self.build_dir, "themes")
        self.templates_dir = os.path.join(HERE, "templates")
        self.app_settings_dir = os.path.join(HERE, "settings")
        self.user_settings_dir = os.path.join(self.state_dir, "user-settings")
        self.workspaces_dir = os.path.join(self.state_dir, "workspaces")

    def initialize_settings(self):
        super().initialize_settings()
        page_config = self.serverapp.web_app.settings.setdefault("page_config_data", {})
        # JupyterLab's switch that puts the app on window.jupyterapp.
        page_config["exposeAppInBrowser"] = True


if __name__ == "__main__":
    AtonceLab.launch_instance()
