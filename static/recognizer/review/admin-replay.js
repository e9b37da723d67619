import { replayAll } from "./replay.js";

replayAll();
