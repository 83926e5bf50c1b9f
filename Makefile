# The tutorial's commands. `make demo` runs the whole thing once; `make test` checks it.
PYTHON ?= python3
PORT ?= 8443

.PHONY: certs server client demo test bench clean

# cert.pem and key.pem in this folder; existing ones are kept.
certs:
	@./gen_certs.sh

# The final server, in the foreground; Ctrl-C stops it.
server: certs
	$(PYTHON) server.py --port $(PORT)

# The final client, against `make server` in another terminal.
client: certs
	$(PYTHON) client.py https://localhost:$(PORT)/hello

# Start the server on a free port, run the client against it, stop the server,
# and show the server's log only if something failed.
demo: certs
	@log=$$(mktemp); \
	$(PYTHON) server.py --port 0 >"$$log" 2>&1 & server=$$!; \
	trap 'kill $$server 2>/dev/null; wait $$server 2>/dev/null; rm -f "$$log"' EXIT; \
	url=; for i in $$(seq 100); do \
	  url=$$(sed -n 's/^server.py: serving \(https:[^ ]*\).*/\1/p' "$$log"); \
	  [ -n "$$url" ] || ! kill -0 $$server 2>/dev/null && break; sleep 0.1; \
	done; \
	if [ -z "$$url" ]; then cat "$$log" >&2; exit 1; fi; \
	echo "server.py: serving $$url"; \
	echo "$$ $(PYTHON) client.py $$url"; \
	$(PYTHON) client.py "$$url" || { echo "server log:" >&2; cat "$$log" >&2; exit 1; }

test:
	$(PYTHON) tests/run.py

# server.py under load beside openssl s_server and the plain handler; about 30 s.
bench:
	@$(PYTHON) bench/bench.py

clean:
	rm -f cert.pem key.pem ca.pem ca-key.pem server.pem server-key.pem client.pem client-key.pem *.p12
