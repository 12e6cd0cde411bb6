"""`mailadmin domains dns|verify|rotate-dkim|export-dkim`: the DNS records of a sending domain, their
verification over DNS, DKIM key rotation and the OpenDKIM export.

Kept beside cli/domains.py (which registers them) so the domain commands and these grow apart."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mailadmin.cli.complete import choice, complete_domains
from mailadmin.cli.context import current
from mailadmin.cli.options import Quiet, ReportOutput, ShowOutput
from mailadmin.render.output import REPORT, SHOW

DomainArg = Annotated[str, typer.Argument(metavar="DOMAIN", help="A domain name (Unicode or punycode; any case).",
                                          autocompletion=complete_domains, show_default=False)]


def domains_dns(
    domain: DomainArg,
    zone: Annotated[bool, typer.Option("--zone", help="Zone-file lines (absolute names, long TXT values as several "
                                                      "quoted strings of one record), ready for a zone file.")] = False,
    output: ShowOutput = None,
) -> None:
    """Print the DNS records a domain must publish: SPF, DKIM, DMARC, return-path and tracking CNAMEs.

    Example: mailadmin domains dns mail.example.com --zone
    """
    from mailadmin.errors import InvalidInput
    from mailadmin.refs import domain_name
    from mailadmin.render import dns as render
    from mailadmin.services import dnsrecords

    inv = current()
    fmt = inv.format(output, SHOW)
    if zone and output is not None:
        raise InvalidInput("--zone prints zone-file lines; it does not take -o", hint="use --zone, or -o table|json|csv")
    domain_name(domain)  # a name that is not one is exit 2 before the config or the store is read
    platform = dnsrecords.Platform.from_config(inv.config)
    with inv.read() as op:
        records = dnsrecords.published(op, domain, platform)
    render.dns_records(inv.out, records, fmt, zone=zone)


def domains_verify(
    domain: DomainArg,
    resolver: Annotated[Optional[str], typer.Option("--resolver", metavar="HOST[:PORT]", show_default=False,
                                                    help="The DNS server to ask, an IP address (default: config "
                                                         "platform.resolver, else the system's resolv.conf).")] = None,
    timeout: Annotated[float, typer.Option("--timeout", metavar="SECONDS",
                                           help="How long to wait for each answer before giving up (exit 75).")] = 5.0,
    output: ShowOutput = None,
    quiet: Quiet = False,
) -> None:
    """Look every record up in DNS and store per record verified or failed, with the cause; exit 1 if any failed.

    Example: mailadmin domains verify mail.example.com --resolver 192.0.2.53
    """
    from mailadmin.errors import ExitCode
    from mailadmin.refs import domain_name
    from mailadmin.render import dns as render
    from mailadmin.services import dnsrecords, verify

    inv = current()
    fmt = inv.format(output, SHOW)
    domain_name(domain)
    server = verify.nameserver(resolver, inv.config.get("platform.resolver") if resolver is None else None)
    timeout = verify.check_timeout(timeout)
    platform = dnsrecords.Platform.from_config(inv.config)
    # no lock is held while DNS answers: read what to ask, ask, then store in a short write
    with inv.read() as op:
        plan = verify.plan(op, domain, platform)
    checks = verify.lookup(plan, server, timeout)
    with inv.write() as op:
        report = verify.store(op, plan, checks, server)
    render.verified(inv.out, report, fmt)
    if report.state != dnsrecords.VERIFIED:
        raise typer.Exit(ExitCode.FAILURE)


def domains_rotate_dkim(
    domain: DomainArg,
    selector: Annotated[Optional[str], typer.Option("--selector", metavar="S", show_default=False,
                                                    help="The new key's selector (default: ma + today's date, ma20261126).")] = None,
    algorithm: Annotated[Optional[str], typer.Option("--algorithm", metavar="ALG", autocompletion=choice("rsa", "ed25519"),
                                                     show_default=False,
                                                     help="rsa (2048 bits) or ed25519 (default: the active key's).")] = None,
    finish: Annotated[bool, typer.Option("--finish", help="Make the pending key active and delete the old one "
                                                          "(only once `verify` found its record).")] = False,
    cancel: Annotated[bool, typer.Option("--cancel", help="Drop the pending key; the active key stays.")] = False,
    output: ReportOutput = None,
    quiet: Quiet = False,
) -> None:
    """Rotate a domain's DKIM key: a pending key beside the active one, then --finish (or --cancel).

    Example: mailadmin domains rotate-dkim mail.example.com --algorithm ed25519
    """
    from mailadmin.errors import InvalidInput
    from mailadmin.render import dns as render
    from mailadmin.services import dkim

    inv = current()
    fmt = inv.format(output, REPORT)
    if finish and cancel:
        raise InvalidInput("--finish and --cancel exclude each other")
    if (finish or cancel) and (selector is not None or algorithm is not None):
        raise InvalidInput(f"--{'finish' if finish else 'cancel'} takes no --selector or --algorithm (they choose a new key)")
    if selector is not None:
        selector = dkim.check_selector(selector)
    if algorithm is not None:
        algorithm = dkim.check_algorithm(algorithm)
    with inv.write() as op:
        if finish:
            result = dkim.finish(op, domain)
        elif cancel:
            result = dkim.cancel(op, domain)
        else:
            result = dkim.rotate(op, domain, selector=selector, algorithm=algorithm)
    render.rotation(inv.out, result, fmt)


def domains_export_dkim(
    directory: Annotated[str, typer.Argument(metavar="DIR", show_default=False,
                                             help="Where KeyTable, SigningTable and keys/DOMAIN/SELECTOR.private go "
                                                  "(created 0700 when missing).")],
    domain: Annotated[Optional[str], typer.Option("--domain", metavar="D", autocompletion=complete_domains, show_default=False,
                                                  help="Only this domain (its lines of existing tables are replaced, "
                                                       "other lines kept).")] = None,
    algorithm: Annotated[Optional[str], typer.Option("--algorithm", metavar="ALG", autocompletion=choice("rsa", "ed25519"),
                                                     show_default=False,
                                                     help="Only rsa or only ed25519 keys: OpenDKIM 2.11 signs with one "
                                                          "algorithm per instance, so give each instance its own DIR.")] = None,
    output: ReportOutput = None,
    quiet: Quiet = False,
) -> None:
    """Write the DKIM private keys and OpenDKIM's KeyTable and SigningTable; print the paths written.

    Example: mailadmin domains export-dkim /etc/opendkim/mailadmin
    """
    from mailadmin.refs import domain_name
    from mailadmin.render import dns as render
    from mailadmin.services import dkim

    inv = current()
    fmt = inv.format(output, REPORT)
    if domain is not None:
        domain_name(domain)
    if algorithm is not None:
        algorithm = dkim.check_algorithm(algorithm)
    dkim.check_export_dir(directory)  # a file or an unwritable DIR is exit 2 before the store is opened
    # files are written with no store lock held (a read), then the export is audited in a short write
    with inv.read() as op:
        result = dkim.export(op, directory, domain_name=domain, algorithm=algorithm)
    with inv.write() as op:
        dkim.audit_export(op, result)
    render.exported(inv.out, result, fmt)


def register(app: typer.Typer) -> None:
    app.command("dns")(domains_dns)
    app.command("verify")(domains_verify)
    app.command("rotate-dkim")(domains_rotate_dkim)
    app.command("export-dkim")(domains_export_dkim)
