import { benchState } from "./state.ts";
for (let i = 0; i < 2; i++) { const r: any = await benchState(); console.log(JSON.stringify({ ov: r.rootOverhead, run: r.rootOverheadRun, scat: r.incrementalRootMsScattered, clus: r.incrementalRootMs })); }
