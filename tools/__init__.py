"""vpeft: the visual PEFT knowledge base.

One import name for everything the distribution installs. In the repository the package's code lives in `tools/`
(the catalog tools and the `vpeft` command) and `methods/` (the reference implementations, `vpeft.methods`); the
build configuration in pyproject.toml maps both into `vpeft`.

    import timm
    from vpeft import methods
    model = timm.create_model("vit_base_patch16_224", num_classes=10)
    methods.apply(model, "lora")
"""

__version__ = "0.2.0"
