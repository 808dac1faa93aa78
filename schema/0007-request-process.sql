-- Which process began a request, so that a request whose process died
-- (killed, or the machine went down) is shown as such, not "running"
-- forever. A pid alone is reused; the process's start time (field 22 of
-- /proc/PID/stat, clock ticks since boot) tells the same process from a
-- later one, and the host name keeps a store shared between machines
-- from judging another machine's processes. NULL in rows made before.

ALTER TABLE requests ADD COLUMN pid INTEGER;
ALTER TABLE requests ADD COLUMN pid_start INTEGER;
ALTER TABLE requests ADD COLUMN host TEXT;
