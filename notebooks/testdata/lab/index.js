// index.js: the entry point of the JupyterLab 4 application that atonce's
// browser test (notebooks/lab_test.go) opens. It starts JupyterLab the way
// JupyterLab's own application does: every plugin of the extension packages
// listed in package.json's "jupyterlab" field goes into a plugin registry,
// the service manager comes from @jupyterlab/services-extension's plugins,
// and JupyterLab starts with them. Nothing here imitates a JupyterLab part;
// it only chooses which of JupyterLab's packages run.
//
// Left out, because Debian's jupyter-server and jupyterlab-server do not
// serve what they talk to: the extension manager and plugin manager (the
// jupyterlab Python package's /lab/api/extensions and /lab/api/plugins), the
// language-server client (the jupyter-lsp server extension) and the
// JupyterHub extension. Plugins of other packages that require the
// language-server client's services are dropped with it.

import { PageConfig } from '@jupyterlab/coreutils';

// Assets (fonts, images) load from the server's static URL for this app;
// webpack must know it before any of them is requested, so everything else
// is imported dynamically below.
// eslint-disable-next-line no-undef
__webpack_public_path__ = PageConfig.getOption('fullStaticUrl') + '/';

// The extension packages, in package.json's order. Each import is written
// out so that webpack bundles it.
const extensionModules = {
  '@jupyterlab/application-extension': () => import('@jupyterlab/application-extension'),
  '@jupyterlab/apputils-extension': () => import('@jupyterlab/apputils-extension'),
  '@jupyterlab/audio-extension': () => import('@jupyterlab/audio-extension'),
  '@jupyterlab/cell-toolbar-extension': () => import('@jupyterlab/cell-toolbar-extension'),
  '@jupyterlab/celltags-extension': () => import('@jupyterlab/celltags-extension'),
  '@jupyterlab/codemirror-extension': () => import('@jupyterlab/codemirror-extension'),
  '@jupyterlab/completer-extension': () => import('@jupyterlab/completer-extension'),
  '@jupyterlab/console-extension': () => import('@jupyterlab/console-extension'),
  '@jupyterlab/csvviewer-extension': () => import('@jupyterlab/csvviewer-extension'),
  '@jupyterlab/debugger-extension': () => import('@jupyterlab/debugger-extension'),
  '@jupyterlab/docmanager-extension': () => import('@jupyterlab/docmanager-extension'),
  '@jupyterlab/documentsearch-extension': () => import('@jupyterlab/documentsearch-extension'),
  '@jupyterlab/filebrowser-extension': () => import('@jupyterlab/filebrowser-extension'),
  '@jupyterlab/fileeditor-extension': () => import('@jupyterlab/fileeditor-extension'),
  '@jupyterlab/help-extension': () => import('@jupyterlab/help-extension'),
  '@jupyterlab/htmlviewer-extension': () => import('@jupyterlab/htmlviewer-extension'),
  '@jupyterlab/imageviewer-extension': () => import('@jupyterlab/imageviewer-extension'),
  '@jupyterlab/inspector-extension': () => import('@jupyterlab/inspector-extension'),
  '@jupyterlab/launcher-extension': () => import('@jupyterlab/launcher-extension'),
  '@jupyterlab/logconsole-extension': () => import('@jupyterlab/logconsole-extension'),
  '@jupyterlab/mainmenu-extension': () => import('@jupyterlab/mainmenu-extension'),
  '@jupyterlab/markdownviewer-extension': () => import('@jupyterlab/markdownviewer-extension'),
  '@jupyterlab/markedparser-extension': () => import('@jupyterlab/markedparser-extension'),
  '@jupyterlab/mathjax-extension': () => import('@jupyterlab/mathjax-extension'),
  '@jupyterlab/mermaid-extension': () => import('@jupyterlab/mermaid-extension'),
  '@jupyterlab/metadataform-extension': () => import('@jupyterlab/metadataform-extension'),
  '@jupyterlab/notebook-extension': () => import('@jupyterlab/notebook-extension'),
  '@jupyterlab/rendermime-extension': () => import('@jupyterlab/rendermime-extension'),
  '@jupyterlab/running-extension': () => import('@jupyterlab/running-extension'),
  '@jupyterlab/services-extension': () => import('@jupyterlab/services-extension'),
  '@jupyterlab/settingeditor-extension': () => import('@jupyterlab/settingeditor-extension'),
  '@jupyterlab/shortcuts-extension': () => import('@jupyterlab/shortcuts-extension'),
  '@jupyterlab/statusbar-extension': () => import('@jupyterlab/statusbar-extension'),
  '@jupyterlab/terminal-extension': () => import('@jupyterlab/terminal-extension'),
  '@jupyterlab/theme-dark-extension': () => import('@jupyterlab/theme-dark-extension'),
  '@jupyterlab/theme-dark-high-contrast-extension': () => import('@jupyterlab/theme-dark-high-contrast-extension'),
  '@jupyterlab/theme-light-extension': () => import('@jupyterlab/theme-light-extension'),
  '@jupyterlab/toc-extension': () => import('@jupyterlab/toc-extension'),
  '@jupyterlab/tooltip-extension': () => import('@jupyterlab/tooltip-extension'),
  '@jupyterlab/translation-extension': () => import('@jupyterlab/translation-extension'),
  '@jupyterlab/ui-components-extension': () => import('@jupyterlab/ui-components-extension'),
  '@jupyterlab/video-extension': () => import('@jupyterlab/video-extension'),
  '@jupyterlab/workspaces-extension': () => import('@jupyterlab/workspaces-extension')
};

// The MIME renderer packages (mermaid's renderer is its package's lib/mime).
const mimeExtensionModules = {
  '@jupyterlab/javascript-extension': () => import('@jupyterlab/javascript-extension'),
  '@jupyterlab/json-extension': () => import('@jupyterlab/json-extension'),
  '@jupyterlab/mermaid-extension/lib/mime': () => import('@jupyterlab/mermaid-extension/lib/mime'),
  '@jupyterlab/pdf-extension': () => import('@jupyterlab/pdf-extension'),
  '@jupyterlab/vega5-extension': () => import('@jupyterlab/vega5-extension')
};

// The services a plugin needs that only the language-server client provides.
const isLanguageServerToken = token =>
  !!token && typeof token.name === 'string' && token.name.startsWith('@jupyterlab/lsp:');

// pluginsOf returns the plugins a package exports (one or an array).
function pluginsOf(mod) {
  const exported = mod && mod.__esModule !== undefined ? mod.default : mod;
  const plugins = Array.isArray(exported) ? exported : [exported];
  return plugins.filter(p => p && typeof p.id === 'string');
}

async function loadPlugins(modules, dropped) {
  const loaded = await Promise.all(
    Object.entries(modules).map(async ([name, load]) => [name, await load()])
  );
  const plugins = [];
  for (const [name, mod] of loaded) {
    for (const plugin of pluginsOf(mod)) {
      if ((plugin.requires || []).some(isLanguageServerToken)) {
        dropped.push(plugin.id);
        continue;
      }
      plugins.push({ name, plugin });
    }
  }
  return plugins;
}

async function main() {
  // The stylesheets of every package, generated by @jupyterlab/builder's
  // ensureAssets into build/style.js when webpack starts.
  await import('./build/style.js');

  const [{ JupyterLab }, { JupyterPluginRegistry }, services] = await Promise.all([
    import('@jupyterlab/application'),
    import('@jupyterlab/coreutils'),
    import('@jupyterlab/services')
  ]);

  const dropped = [];
  const extensions = await loadPlugins(extensionModules, dropped);
  const mimeExtensions = await loadPlugins(mimeExtensionModules, dropped);
  if (dropped.length) {
    console.info('atonce lab: plugins left out with the language-server client: ' + dropped.join(', '));
  }
  const availablePlugins = extensions.concat(mimeExtensions).map(({ name, plugin }) => ({
    id: plugin.id,
    description: plugin.description,
    requires: plugin.requires || [],
    optional: plugin.optional || [],
    provides: plugin.provides || null,
    autoStart: plugin.autoStart,
    enabled: true,
    extension: name
  }));

  // As JupyterLab's own application: the registry holds the plugins and
  // resolves the service manager from services-extension's plugins.
  const pluginRegistry = new JupyterPluginRegistry();
  pluginRegistry.registerPlugins(extensions.map(e => e.plugin));
  const connectionStatus = await pluginRegistry.resolveOptionalService(services.IConnectionStatus);
  const serviceManager = await pluginRegistry.resolveRequiredService(services.IServiceManager);

  const lab = new JupyterLab({
    pluginRegistry,
    serviceManager,
    connectionStatus,
    mimeExtensions: mimeExtensions.map(e => e.plugin),
    availablePlugins
  });
  // JupyterLab's own switch for tests: the page's app is window.jupyterapp.
  if ((PageConfig.getOption('exposeAppInBrowser') || '').toLowerCase() === 'true') {
    window.jupyterapp = lab;
  }
  await lab.start({ bubblingKeydown: true });
  await lab.restored;
  console.info('atonce lab: JupyterLab started and restored');
}

window.addEventListener('load', () => {
  main().catch(err => {
    console.error('atonce lab: JupyterLab did not start', err);
    document.body.setAttribute('data-atonce-lab-error', String((err && err.stack) || err));
  });
});
