# The tutorial's commands. `make demo` runs the whole thing once; `make test` checks it; `make help` lists them.
# Each target's `## ` comment is its line in `make help`.
PYTHON ?= python3
PORT ?= 8443

.PHONY: certs server client demo test bench clean help

certs: ## write cert.pem and key.pem in this folder (existing ones are kept)
	@./gen_certs.sh

server: certs ## run the final server on port 8443 (PORT=...) in the foreground; Ctrl-C stops it
	$(PYTHON) server.py --port $(PORT)

client: certs ## run the final client against `make server` in another terminal
	$(PYTHON) client.py https://localhost:$(PORT)/hello

# The server's log is shown only if something failed.
demo: certs ## start the server on a free port, run the client against it, stop the server
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

test: ## run the whole test suite
	$(PYTHON) tests/run.py

bench: ## load server.py beside openssl s_server and the plain handler (under a minute)
	@$(PYTHON) bench/bench.py

clean: ## remove what the tutorial makes: certificates, keys, CRLs, .p12 files, pki/, original/, ca-db/, nginx-run/, __pycache__/
	rm -f cert.pem key.pem ca.pem ca-key.pem server.pem server-key.pem client.pem client-key.pem crl.pem *.p12
	rm -rf pki original ca-db nginx-run
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

help: ## list these targets
	@awk -F ':.*## ' '/^[a-z][a-z-]*:.*## / { printf "make %-6s  %s\n", $$1, $$2 }' $(firstword $(MAKEFILE_LIST))
