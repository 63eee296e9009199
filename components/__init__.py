"""Armful: production Amazon EKS on AWS Graviton, as Pulumi components.

The pure core (``components.core``, ``components.placement``) turns stack config into a plan without
Pulumi's engine; the components below turn that plan into resources.
"""
