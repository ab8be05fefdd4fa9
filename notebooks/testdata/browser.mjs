// browser.mjs drives Debian's Chromium (headless, through playwright-core)
// against a running classic Jupyter Notebook (6.x): it opens one notebook,
// waits for its kernel, clears all outputs and runs all cells through the
// Cell menu as a user would, waits until every code cell has run, then
// reports what the page shows and saves a full-page screenshot.
//
// It is run by TestBrowserTour (notebooks/browser_test.go), which starts
// Jupyter, and asserts on the one JSON object this script prints on stdout:
//
//   {"notebook": "...", "kernel": "Go (atonce)", "kernelName": "atonce",
//    "runAll": "menu",
//    "codeCells": 12, "ran": 12, "notRun": [], "emptyCells": 0,
//    "replies": {"ok": 12},
//    "images": 3, "charts": [{"cell": 5, "output": 1, "kind": "svg", ...}],
//    "errors": [{"cell": 7, "kind": "error", "text": "..."}],
//    "stderr": [...], "pageErrors": [...], "screenshot": "...",
//    "seconds": 41.2, "failure": ""}
//
// A non-empty "failure" (exit status 1) means the run itself could not be
// completed (page did not load, kernel never idle, timeout, ...); the
// script still tries to save the screenshot then.
//
// usage: NODE_PATH=.../playwright/node_modules node browser.mjs
//          --url URL --user-data-dir DIR --screenshot FILE.png
//          [--timeout-ms 300000] [--executable /usr/bin/chromium]
//
// playwright-core is loaded with require() so that NODE_PATH (set by the
// test from install/setup-deps.sh's cache directory) finds it: ES module
// imports ignore NODE_PATH.

import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import fs from 'node:fs';
import path from 'node:path';

const require = createRequire(import.meta.url);

// Exactly the flags the browser test is specified with; playwright adds its
// own automation flags (remote debugging pipe and the like) besides.
const CHROMIUM_FLAGS = [
	'--headless',
	'--no-sandbox',
	'--disable-gpu',
	'--disable-background-networking',
	'--disable-component-update',
	'--disable-sync',
	'--no-first-run',
];

const { values: opt } = parseArgs({
	options: {
		url: { type: 'string' },
		'user-data-dir': { type: 'string' },
		screenshot: { type: 'string' },
		'timeout-ms': { type: 'string', default: '300000' },
		executable: { type: 'string', default: '/usr/bin/chromium' },
	},
});
for (const k of ['url', 'user-data-dir', 'screenshot']) {
	if (!opt[k]) {
		console.error(`browser.mjs: --${k} is required`);
		process.exit(2);
	}
}
const timeoutMs = Number(opt['timeout-ms']);
const started = Date.now();
const deadline = started + timeoutMs;

const summary = {
	notebook: '',
	kernel: '',
	kernelName: '',
	runAll: '',
	codeCells: 0,
	ran: 0,
	notRun: [],
	replies: {},
	emptyCells: 0,
	images: 0,
	charts: [],
	errors: [],
	stderr: [],
	pageErrors: [],
	dialogs: [],
	screenshot: '',
	seconds: 0,
	failure: '',
};

function log(...args) {
	const t = ((Date.now() - started) / 1000).toFixed(1);
	console.error(`[browser ${t}s]`, ...args);
}

function remaining() {
	return Math.max(1000, deadline - Date.now());
}

// poll evaluates fn in the page every 250 ms until it returns an object
// with done: true, or one with fail set, or the deadline passes; it
// returns the last result. It is a wait for a condition, not a sleep: it
// returns as soon as the condition holds.
async function poll(page, what, fn, arg) {
	let last;
	let lastLog = 0;
	for (;;) {
		last = await page.evaluate(fn, arg);
		if (last.fail) throw new Error(`${what}: ${last.fail}`);
		if (last.done) return last;
		if (Date.now() > deadline) {
			throw new Error(`timed out after ${timeoutMs / 1000}s ${what}; last state: ${JSON.stringify(last)}`);
		}
		if (Date.now() - lastLog > 15000) {
			lastLog = Date.now();
			log(what, JSON.stringify(last));
		}
		await new Promise((r) => setTimeout(r, 250));
	}
}

// pageState reports, from the page, the kernel indicator and any modal
// dialog the notebook shows (kernel not found, kernel died, ...).
function pageStateSource() {
	return `
		const icon = document.querySelector('#kernel_indicator_icon');
		const modals = [...document.querySelectorAll('.modal')]
			.filter((m) => m.offsetParent !== null || getComputedStyle(m).display === 'block')
			.map((m) => m.innerText.trim().replace(/\\s+/g, ' ').slice(0, 500));
		const kernelState = icon ? icon.className : '';
	`;
}

async function main() {
	const { chromium } = require('playwright-core');
	fs.mkdirSync(opt['user-data-dir'], { recursive: true });
	log('launching', opt.executable, CHROMIUM_FLAGS.join(' '));
	const context = await chromium.launchPersistentContext(opt['user-data-dir'], {
		executablePath: opt.executable,
		headless: true,
		args: CHROMIUM_FLAGS,
		viewport: { width: 1280, height: 900 },
		timeout: 60000,
	});
	let page;
	try {
		page = context.pages()[0] || (await context.newPage());
		page.setDefaultTimeout(60000);
		page.on('pageerror', (e) => {
			summary.pageErrors.push(String(e && e.message ? e.message : e).slice(0, 500));
		});
		page.on('dialog', (d) => {
			// A native dialog (e.g. "leave page?") must not hang the run.
			summary.dialogs.push(d.message());
			d.dismiss().catch(() => {});
		});
		const u = new URL(opt.url);
		summary.notebook = decodeURIComponent(u.pathname.replace(/^.*\/notebooks\//, ''));
		log('opening', u.origin + u.pathname);
		await page.goto(opt.url, { waitUntil: 'load', timeout: 60000 });
		await run(page);
	} catch (e) {
		summary.failure = String(e && e.stack ? e.stack : e);
		log('failure:', summary.failure);
	} finally {
		if (page) {
			try {
				await screenshot(page);
			} catch (e) {
				log('screenshot failed:', String(e));
				if (!summary.failure) summary.failure = `screenshot: ${e}`;
			}
		}
		await context.close().catch((e) => log('closing chromium:', String(e)));
	}
}

async function run(page) {
	// 1. The notebook is loaded and its kernel started and idle.
	const ready = await poll(page, 'waiting for the notebook and an idle kernel', new Function(`
		${pageStateSource()}
		const nb = window.Jupyter && window.Jupyter.notebook;
		if (modals.length) return { fail: 'dialog shown: ' + modals.join(' | ') };
		if (/kernel_dead_icon/.test(kernelState)) return { fail: 'kernel dead' };
		const loaded = !!(nb && nb._fully_loaded);
		const name = (document.querySelector('#kernel_indicator .kernel_indicator_name') || {}).innerText || '';
		const kernelName = nb && nb.kernel ? nb.kernel.name : '';
		return { done: loaded && kernelState === 'kernel_idle_icon', loaded, kernelState, name, kernelName };
	`));
	summary.kernel = ready.name.trim();
	summary.kernelName = ready.kernelName;
	log('kernel idle:', summary.kernel);

	// 2. Cell → All Output → Clear, so a notebook saved with outputs and
	// execution counts cannot pass for one that ran. Then Cell → Run All.
	await clickMenu(page, ['#celllink', '#all_outputs > a', '#clear_all_output > a']);
	await poll(page, 'waiting for outputs to clear', () => {
		const prompts = [...document.querySelectorAll('#notebook-container .code_cell .input_prompt')];
		const numbered = prompts.filter((p) => /\[\s*[\d*]+\s*\]/.test(p.innerText)).length;
		const outputs = document.querySelectorAll('#notebook-container .code_cell .output_area').length;
		return { done: numbered === 0 && outputs === 0, numbered, outputs };
	});
	// Record each execute reply's status (ok, error, aborted) as it
	// arrives; the page shows an aborted cell much like one that ran.
	await page.evaluate(() => {
		window.__atonceReplies = {};
		window.Jupyter.notebook.events.on('shell_reply.Kernel', (e, d) => {
			if (d && d.reply && d.reply.parent_header) {
				// A request skipped after an earlier error is answered
				// "aborted", or "error" with ename ExecutionAborted (atonce).
				const c = d.reply.content || {};
				window.__atonceReplies[d.reply.parent_header.msg_id] =
					c.status === 'error' && /abort/i.test(c.ename || '') ? 'aborted' : c.status;
			}
		});
	});
	await clickMenu(page, ['#celllink', '#run_all_cells > a']);
	summary.runAll = 'menu';
	log('clicked Cell → Run All');

	// 3. Every non-empty code cell has its execute reply, and the cells
	// that ran also their IOPub idle (reply and idle travel on different
	// sockets, so the prompt alone can come first), and the kernel
	// indicator says idle. A cell counts as run when its reply's status is
	// ok or error and its prompt shows an execution count; one whose
	// request was aborted (after an error earlier in the run) is done
	// too, and reported as not run.
	const finished = await poll(page, 'waiting for all cells to run', new Function(`
		${pageStateSource()}
		if (modals.length) return { fail: 'dialog shown: ' + modals.join(' | ') };
		if (/kernel_dead_icon/.test(kernelState)) return { fail: 'kernel dead' };
		const nb = window.Jupyter.notebook;
		const k = nb.kernel;
		const callbacks = (k && k._msg_callbacks) || {};
		const replies = window.__atonceReplies;
		let codeCells = 0, ran = 0, empty = 0, pending = 0;
		const notRun = [], statuses = {};
		nb.get_cells().forEach((c, i) => {
			if (c.cell_type !== 'code') return;
			codeCells++;
			if (c.get_text().trim() === '') { empty++; return; }
			const p = c.element[0].querySelector('.input_prompt');
			const numbered = /\\[\\s*\\d+\\s*\\]/.test(p ? p.innerText : '');
			const status = c.last_msg_id ? replies[c.last_msg_id] : undefined;
			const cb = c.last_msg_id ? callbacks[c.last_msg_id] : undefined;
			if (status === undefined) { pending++; return; }
			statuses[status] = (statuses[status] || 0) + 1;
			if (status !== 'ok' && status !== 'error') { notRun.push(i); return; }
			if (cb && !cb.iopub_done) { pending++; return; }
			if (numbered) ran++; else notRun.push(i);
		});
		const idle = kernelState === 'kernel_idle_icon';
		return { done: pending === 0 && idle, codeCells, ran, empty, pending, notRun, statuses, idle };
	`));
	summary.codeCells = finished.codeCells;
	summary.ran = finished.ran;
	summary.emptyCells = finished.empty;
	summary.notRun = finished.notRun;
	summary.replies = finished.statuses;
	log(`${finished.ran} code cells ran, ${finished.notRun.length} did not; execute replies: ${JSON.stringify(finished.statuses)}`);

	// 4. What the page shows: images, the task-stream chart, errors.
	const shown = await page.evaluate(() => {
		const out = { images: 0, charts: [], errors: [], stderr: [] };
		const nb = window.Jupyter.notebook;
		nb.get_cells().forEach((cell, i) => {
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
	});
	Object.assign(summary, shown);
	log(`images: ${summary.images}, task-stream charts: ${summary.charts.length}, errors: ${summary.errors.length}`);
}

// clickMenu opens a menu and clicks through its items like a user,
// hovering each submenu before clicking into it.
async function clickMenu(page, selectors) {
	for (const sel of selectors) {
		const item = page.locator(sel);
		await item.waitFor({ state: 'visible', timeout: remaining() });
		await item.hover();
		await item.click();
	}
}

// screenshot saves the whole notebook: Notebook 6 scrolls inside div#site,
// not the document, so the viewport is made as tall as the notebook first.
async function screenshot(page) {
	const dims = await page.evaluate(() => {
		const header = document.querySelector('#header');
		const site = document.querySelector('#site');
		return {
			header: header ? header.offsetHeight : 0,
			content: site ? site.scrollHeight : document.documentElement.scrollHeight,
		};
	});
	const height = Math.min(30000, Math.max(900, dims.header + dims.content + 20));
	await page.setViewportSize({ width: 1280, height });
	await page
		.waitForFunction(
			() => {
				const site = document.querySelector('#site');
				return !site || site.clientHeight >= site.scrollHeight - 2;
			},
			null,
			{ timeout: 10000 },
		)
		.catch(() => log('the notebook did not grow to the window; the screenshot may be cut'));
	fs.mkdirSync(path.dirname(opt.screenshot), { recursive: true });
	await page.screenshot({ path: opt.screenshot, fullPage: true, timeout: 60000 });
	summary.screenshot = opt.screenshot;
	log('screenshot saved:', opt.screenshot, `(1280x${height})`);
}

let code = 0;
try {
	await main();
} catch (e) {
	summary.failure = summary.failure || String(e && e.stack ? e.stack : e);
}
if (summary.failure) code = 1;
summary.seconds = Math.round((Date.now() - started) / 100) / 10;
process.stdout.write(JSON.stringify(summary) + '\n');
process.exitCode = code;
