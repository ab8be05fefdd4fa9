// webpack.config.js: bundles index.js and the JupyterLab packages it loads
// into build/, the directory jupyterlab_server's LabServerApp serves
// (lab_server.py). @jupyterlab/builder's ensureAssets copies each
// extension's settings schemas to build/schemas, writes build/style.js
// (their stylesheets) and adds one webpack configuration per theme, built
// into build/themes.
//
// JupyterLab 4.6 builds itself with rspack 2 (@jupyter/builder), which needs
// Node 20.19; Debian 12 has Node 18, so this uses webpack 5 and the last
// webpack-based @jupyterlab/builder (4.5) for the same steps.
const path = require('path');
const webpack = require('webpack');
const { Build } = require('@jupyterlab/builder');
const svgToDataURI = require('mini-svg-data-uri');
const pkg = require('./package.json');

const out = path.resolve(__dirname, 'build');

const themes = Build.ensureAssets({
  packageNames: pkg.jupyterlab.extensions.concat(pkg.jupyterlab.mimeExtensions),
  output: out
});

// Version-suffixed font URLs (font.woff2?v=1.2.3) match too.
const withVersion = ext => new RegExp(`\\.${ext}(\\?v=\\d+\\.\\d+\\.\\d+)?$`);

module.exports = [
  {
    entry: './index.js',
    output: { path: out, filename: 'bundle.js', chunkFilename: '[name].[contenthash].js' },
    // Production mode for React's production build; minifying would double
    // the build's time for a page only the tests load.
    mode: 'production',
    optimization: { minimize: false },
    devtool: false,
    bail: true,
    performance: { hints: false },
    module: {
      rules: [
        { test: /\.raw\.css$/, type: 'asset/source' },
        { test: /\.css$/, exclude: /\.raw\.css$/, use: ['style-loader', 'css-loader'] },
        { test: /\.md$/, type: 'asset/source' },
        { test: /\.html$/, type: 'asset/resource' },
        { test: /\.(jpg|png|gif)$/, type: 'asset/resource' },
        { test: /\.js\.map$/, type: 'asset/resource' },
        { test: withVersion('(woff2|woff|ttf)'), type: 'asset' },
        { test: withVersion('eot'), type: 'asset/resource' },
        {
          // Stylesheets take SVG icons as data URIs ...
          test: withVersion('svg'),
          issuer: /\.css$/,
          type: 'asset/inline',
          generator: { dataUrl: content => svgToDataURI(content.toString()) }
        },
        {
          // ... and scripts as the SVG's text (LabIcon).
          test: withVersion('svg'),
          issuer: /\.js$/,
          type: 'asset/source'
        }
      ]
    },
    resolve: {
      // Packages written for both node and the browser ask for these.
      fallback: { path: require.resolve('path-browserify') }
    },
    plugins: [
      new webpack.ProvidePlugin({ process: 'process/browser.js' })
    ]
  }
].concat(themes);
