// An endless loop at the top level: never returns.
for (;;) {}
