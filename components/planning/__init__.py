"""Planning: stack config and component args → the plan, pure (no Pulumi engine, no cloud).

It joins the layers below (core's pools, placement's rules and proofs, the add-on declarations) into
every decision ``pulumi up`` will carry out; the Pulumi components and the CLI only read the plan.
"""
