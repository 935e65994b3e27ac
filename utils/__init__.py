"""Plain Python, no ComfyUI imports: the erase and segment pipelines and the widget specs on top of three parts."""
