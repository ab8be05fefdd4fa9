// notebook_page.js: what TestBrowserTour (notebooks/browser_test.go) asks a
// classic Jupyter Notebook (6.x) page. The test installs it in the page
// before the notebook's own scripts run, as window.atonceProbe, and calls
// its functions through the DevTools protocol (chromedp). Each function
// returns a plain object; the waits return {done: true} when their state
// holds, or {fail: "..."} when it never will (a dialog, a dead kernel).
window.atonceProbe = {
	// page: the kernel indicator's state and any modal dialog the notebook
	// shows (kernel not found, kernel died, ...).
	page() {
		const icon = document.querySelector('#kernel_indicator_icon');
		const modals = [...document.querySelectorAll('.modal')]
			.filter((m) => m.offsetParent !== null || getComputedStyle(m).display === 'block')
			.map((m) => m.innerText.trim().replace(/\s+/g, ' ').slice(0, 500));
		const kernelState = icon ? icon.className : '';
		let fail = '';
		if (modals.length) fail = 'dialog shown: ' + modals.join(' | ');
		else if (/kernel_dead_icon/.test(kernelState)) fail = 'kernel dead';
		return { kernelState, idle: kernelState === 'kernel_idle_icon', fail };
	},

	// ready: the notebook is loaded and its kernel started and idle.
	ready() {
		const p = this.page();
		const nb = window.Jupyter && window.Jupyter.notebook;
		const loaded = !!(nb && nb._fully_loaded);
		const name = (document.querySelector('#kernel_indicator .kernel_indicator_name') || {}).innerText || '';
		const kernelName = nb && nb.kernel ? nb.kernel.name : '';
		return { done: loaded && p.idle, fail: p.fail, loaded, kernelState: p.kernelState, name: name.trim(), kernelName };
	},

	// cleared: no code cell shows an execution count or an output.
	cleared() {
		const prompts = [...document.querySelectorAll('#notebook-container .code_cell .input_prompt')];
		const numbered = prompts.filter((p) => /\[\s*[\d*]+\s*\]/.test(p.innerText)).length;
		const outputs = document.querySelectorAll('#notebook-container .code_cell .output_area').length;
		return { done: numbered === 0 && outputs === 0, numbered, outputs };
	},

	// recordReplies records each execute reply's status (ok, error,
	// aborted) by request as it arrives: the page shows an aborted cell
	// much like one that ran.
	recordReplies() {
		window.atonceReplies = {};
		window.Jupyter.notebook.events.on('shell_reply.Kernel', (e, d) => {
			if (d && d.reply && d.reply.parent_header) {
				// A request skipped after an earlier error is answered
				// "aborted", or "error" with ename ExecutionAborted (atonce).
				const c = d.reply.content || {};
				window.atonceReplies[d.reply.parent_header.msg_id] =
					c.status === 'error' && /abort/i.test(c.ename || '') ? 'aborted' : c.status;
			}
		});
		return {};
	},

	// watchCharts records every change of what a code cell's chart
	// outputs hold (a %%models run's task stream and speedup charts, which
	// it draws while it goes and updates in place), as the page renders
	// it: which cell and output, the chart's summary, whether the cell's
	// execute reply had come yet, and whether the chart had its PNG (the
	// finished chart) or not (a draft).
	watchCharts() {
		window.atonceCharts = [];
		const seen = {};
		const nb = window.Jupyter.notebook;
		const look = () => {
			const replies = window.atonceReplies || {};
			nb.get_cells().forEach((cell, i) => {
				if (cell.cell_type !== 'code') return;
				(cell.output_area.outputs || []).forEach((o, j) => {
					const plain = o.data ? [].concat(o.data['text/plain'] || []).join('') : '';
					if (!/^(Task stream:|Speedup)/.test(plain)) return;
					const key = i + '/' + j;
					if (seen[key] === plain + !!o.data['image/png']) return;
					seen[key] = plain + !!o.data['image/png'];
					window.atonceCharts.push({ cell: i, output: j, summary: plain,
						running: !(cell.last_msg_id && replies[cell.last_msg_id]), png: !!o.data['image/png'] });
				});
			});
		};
		new MutationObserver(look).observe(document.querySelector('#notebook-container'), { childList: true, subtree: true, characterData: true });
		return {};
	},

	// charts: what watchCharts recorded.
	charts() {
		return { log: window.atonceCharts || [] };
	},

	// finished: every non-empty code cell has its execute reply, the cells
	// that ran also their IOPub idle (reply and idle travel on different
	// sockets, so the prompt alone can come first), and the kernel
	// indicator says idle. A cell counts as run when its reply's status is
	// ok or error and its prompt shows an execution count; one whose
	// request was aborted (after an error earlier in the run) is done too,
	// and reported as not run.
	finished() {
		const p = this.page();
		const nb = window.Jupyter.notebook;
		const callbacks = (nb.kernel && nb.kernel._msg_callbacks) || {};
		const replies = window.atonceReplies || {};
		let codeCells = 0, ran = 0, empty = 0, pending = 0;
		const notRun = [], statuses = {};
		nb.get_cells().forEach((c, i) => {
			if (c.cell_type !== 'code') return;
			codeCells++;
			if (c.get_text().trim() === '') { empty++; return; }
			const prompt = c.element[0].querySelector('.input_prompt');
			const numbered = /\[\s*\d+\s*\]/.test(prompt ? prompt.innerText : '');
			const status = c.last_msg_id ? replies[c.last_msg_id] : undefined;
			const cb = c.last_msg_id ? callbacks[c.last_msg_id] : undefined;
			if (status === undefined) { pending++; return; }
			statuses[status] = (statuses[status] || 0) + 1;
			if (status !== 'ok' && status !== 'error') { notRun.push(i); return; }
			if (cb && !cb.iopub_done) { pending++; return; }
			if (numbered) ran++; else notRun.push(i);
		});
		return { done: pending === 0 && p.idle, fail: p.fail, codeCells, ran, empty, pending, notRun, statuses, kernelState: p.kernelState };
	},

	// shown: what the page shows in the code cells' outputs: the images the
	// browser laid out, the task-stream charts among them, errors, stderr.
	shown() {
		const out = { images: 0, charts: [], errors: [], stderr: [] };
		window.Jupyter.notebook.get_cells().forEach((cell, i) => {
			if (cell.cell_type !== 'code') return;
			const models = cell.output_area.outputs;
			const wrap = cell.element[0].querySelector('.output');
			const areas = wrap ? [...wrap.children].filter((e) => e.classList.contains('output_area')) : [];
			areas.forEach((area, j) => {
				const model = models[j] || {};
				// Images the browser actually laid out: inline SVG (how
				// Notebook 6 shows image/svg+xml) or a PNG/SVG <img>.
				const imgs = [];
				for (const el of area.querySelectorAll('.output_svg svg, .output_png img, .output_jpeg img, img')) {
					if (imgs.some((x) => x.el === el || x.el.contains(el))) continue;
					const r = el.getBoundingClientRect();
					let kind = el.tagName.toLowerCase() === 'svg' ? 'svg' : 'img';
					if (kind === 'img') {
						const src = el.getAttribute('src') || '';
						if (src.startsWith('data:image/png')) kind = 'png';
						else if (src.startsWith('data:image/svg')) kind = 'svg-img';
						if (!el.complete || el.naturalWidth === 0) continue;
					}
					if (r.width < 10 || r.height < 10) continue;
					imgs.push({ el, kind, width: Math.round(r.width), height: Math.round(r.height),
						texts: kind === 'svg' ? el.querySelectorAll('text').length : 0 });
				}
				out.images += imgs.length;
				const plain = model.data ? [].concat(model.data['text/plain'] || []).join('') : '';
				if (plain.startsWith('Task stream:') && imgs.length > 0) {
					const { el, ...info } = imgs[0];
					out.charts.push({ cell: i, output: j, ...info, summary: plain.split('\n')[0].slice(0, 200) });
				}
				const text = (el) => el.innerText.trim().slice(0, 2000);
				for (const el of area.querySelectorAll('.output_error')) {
					out.errors.push({ cell: i, kind: 'error', text: text(el) });
				}
				for (const el of area.querySelectorAll('.output_stderr')) {
					const t = text(el);
					out.stderr.push({ cell: i, text: t });
					if (/\b(error|panic|fatal)\b/i.test(t)) out.errors.push({ cell: i, kind: 'stderr', text: t });
				}
				if (model.output_type === 'error' && !area.querySelector('.output_error')) {
					out.errors.push({ cell: i, kind: 'error', text: `${model.ename}: ${model.evalue}` });
				}
			});
		});
		return out;
	},

	// target: the first element sel matches, scrolled into view, with its
	// centre in the viewport's coordinates, for the mouse to move to and
	// click; done when it is laid out and visible.
	target(sel) {
		const el = document.querySelector(sel);
		if (!el) return { done: false, found: false };
		el.scrollIntoView({ block: 'nearest', inline: 'nearest' });
		const r = el.getBoundingClientRect();
		const visible = r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden';
		return { done: visible, found: true, visible, x: r.left + r.width / 2, y: r.top + r.height / 2 };
	},

	// height: how tall the window must be to show the whole notebook:
	// Notebook 6 scrolls inside div#site, not the document.
	height() {
		const header = document.querySelector('#header');
		const site = document.querySelector('#site');
		return {
			header: header ? header.offsetHeight : 0,
			content: site ? site.scrollHeight : document.documentElement.scrollHeight,
		};
	},

	// fitted: div#site shows the whole notebook without scrolling; or its
	// height is no longer content, so the window must be sized again.
	fitted(content) {
		const site = document.querySelector('#site');
		const fits = !site || site.clientHeight >= site.scrollHeight - 2;
		return { done: fits || site.scrollHeight !== content, fits,
			client: site ? site.clientHeight : 0, scroll: site ? site.scrollHeight : 0 };
	},
};
