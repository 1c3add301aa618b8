// The charts' Plotly bundle: the core (scatter) plus the other trace types the site draws; see README.md.
var Plotly = require('plotly.js/lib/core');
Plotly.register([require('plotly.js/lib/heatmap'), require('plotly.js/lib/scatterpolar')]);
module.exports = Plotly;
